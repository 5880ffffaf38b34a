/**
 * Single sign-on as matrix-js-sdk drives it (as Element Web's login page does): the client reads the
 * m.login.sso flow and its identity providers, sends the browser to the URL getSsoLoginUrl builds,
 * and logs in with the loginToken the browser brings back; the new account then syncs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ClientEvent, createClient, type MatrixClient } from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../homeserver/harness.ts";
import { CLIENT, get, providerYaml, ssoYaml, toCallback } from "../sso/helpers.ts";
import { startOidcProvider, type OidcStandIn } from "../sso/oidc-stand-in.ts";
import { quiet } from "./sdk.ts";

for (const engine of engines) {
  describe(`SSO login with matrix-js-sdk [${engine}]`, () => {
    let idp: OidcStandIn;
    let hs: TestHomeserver;
    const clients: MatrixClient[] = [];

    before(async () => {
      idp = await startOidcProvider({ requirePkce: true });
      hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp)]) });
    });
    after(async () => {
      for (const c of clients) c.stopClient();
      await hs?.stop();
      await idp?.close();
    });

    it("logs in through the identity provider and syncs", async () => {
      const anonymous = createClient({ baseUrl: hs.baseUrl, logger: quiet() });
      clients.push(anonymous);
      const { flows } = await anonymous.loginFlows();
      const sso = flows.find((f) => f.type === "m.login.sso");
      assert.ok(sso !== undefined && "identity_providers" in sso);
      const provider = sso.identity_providers?.[0];
      assert.equal(provider?.id, "oidc-test");

      // The URL the SDK sends the browser to, taken as a path on the test server.
      const url = new URL(anonymous.getSsoLoginUrl(CLIENT, "sso", provider.id));
      assert.equal(url.pathname, "/_matrix/client/v3/login/sso/redirect/oidc-test");
      idp.nextUser = { sub: "zoe-sub", claims: { preferred_username: "zoe", name: "Zoë" } };
      const { callback, cookie } = await toCallback(hs, url.pathname);
      const back = await get(callback, cookie);
      const loginToken = new URL(back.location ?? "").searchParams.get("loginToken");
      assert.ok(loginToken !== null, back.body);

      const login = await anonymous.loginRequest({ type: "m.login.token", token: loginToken, initial_device_display_name: "js-sdk" });
      assert.equal(login.user_id, "@zoe:test.local");
      const zoe = createClient({ baseUrl: hs.baseUrl, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id, logger: quiet() });
      clients.push(zoe);
      assert.equal((await zoe.whoami()).user_id, "@zoe:test.local");
      assert.equal((await zoe.getProfileInfo("@zoe:test.local")).displayname, "Zoë");
      const synced = new Promise<void>((resolve) => zoe.once(ClientEvent.Sync, () => resolve()));
      await zoe.startClient({ initialSyncLimit: 1 });
      await synced;
    });
  });
}
