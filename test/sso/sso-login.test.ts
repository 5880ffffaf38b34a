// SSO login through an OpenID Connect provider (modules/sso_login.md), over real HTTP with the
// stand-in provider, on both storage engines: the redirect with its cookie, the callback, the
// account found or made from the claims, the confirmation page for clients not whitelisted, and the
// login token's m.login.token login.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../storage/engines.ts";
import { ACCOUNTS_YAML, call } from "../homeserver/api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../homeserver/harness.ts";
import { CLIENT, get, PUBLIC_BASEURL, providerYaml, ssoLoginToken, ssoYaml, toCallback } from "./helpers.ts";
import { startOidcProvider, type OidcStandIn } from "./oidc-stand-in.ts";

async function loginWithToken(hs: TestHomeserver, token: string): Promise<{ status: number; userId: unknown; accessToken: unknown; errcode: unknown }> {
  const res = await call(hs, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.token", token } });
  return { status: res.status, userId: res.body["user_id"], accessToken: res.body["access_token"], errcode: res.body["errcode"] };
}

for (const engine of engines) {
  describe(`SSO login with an OpenID Connect provider [${engine}]`, () => {
    let idp: OidcStandIn;
    let hs: TestHomeserver;

    before(async () => {
      idp = await startOidcProvider({ requirePkce: true });
      hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp)]) });
    });
    after(async () => {
      await hs.stop();
      await idp.close();
    });

    it("offers m.login.sso with the provider in GET /login", async () => {
      const res = await call(hs, "GET", "/_matrix/client/v3/login");
      const flows = res.body["flows"] as Array<Record<string, unknown>>;
      const sso = flows.find((f) => f["type"] === "m.login.sso");
      assert.deepEqual(sso, { type: "m.login.sso", identity_providers: [{ id: "oidc-test", name: "Test IdP", brand: "test-brand" }] });
    });

    it("makes an account from the claims at the first login, and finds it again at the next", async () => {
      idp.nextUser = { sub: "alice-sub", claims: { preferred_username: "Alice", name: "Alice Liddell", email: "Alice@Example.org" } };
      const token = await ssoLoginToken(hs);
      const first = await loginWithToken(hs, token);
      assert.equal(first.status, 200);
      assert.equal(first.userId, "@alice:test.local");
      const profile = await call(hs, "GET", "/_matrix/client/v3/profile/@alice:test.local/displayname");
      assert.equal(profile.body["displayname"], "Alice Liddell");
      const threepids = await call(hs, "GET", "/_matrix/client/v3/account/3pid", { token: first.accessToken as string });
      assert.deepEqual((threepids.body["threepids"] as Array<Record<string, unknown>>).map((t) => [t["medium"], t["address"]]), [["email", "alice@example.org"]]);
      // The token is for one login.
      assert.equal((await loginWithToken(hs, token)).errcode, "M_FORBIDDEN");

      // The provider asked for PKCE and the server sent it; the ID token's nonce came from the server.
      const asked = idp.authorizeRequests.at(-1) as URLSearchParams;
      assert.equal(asked.get("code_challenge_method"), "S256");
      assert.equal(asked.get("redirect_uri"), `${PUBLIC_BASEURL}_synapse/client/oidc/callback`);
      assert.equal(asked.get("scope"), "openid profile email");

      const again = await loginWithToken(hs, await ssoLoginToken(hs, "/_matrix/client/v3/login/sso/redirect"));
      assert.equal(again.userId, "@alice:test.local");
    });

    it("gives another subject of the same name the next free localpart", async () => {
      await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "carol", password: "a long password", auth: { type: "m.login.dummy" } } });
      idp.nextUser = { sub: "carol-sub", claims: { preferred_username: "carol" } };
      const login = await loginWithToken(hs, await ssoLoginToken(hs));
      assert.equal(login.userId, "@carol1:test.local");
    });

    it("maps a name outside the localpart grammar onto it", async () => {
      idp.nextUser = { sub: "dave-sub", claims: { preferred_username: "Dave Smith" } };
      const login = await loginWithToken(hs, await ssoLoginToken(hs));
      assert.equal(login.userId, "@dave=20smith:test.local");
    });

    it("asks the user before handing a login token to a client not whitelisted", async () => {
      idp.nextUser = { sub: "alice-sub", claims: { preferred_username: "alice" } };
      const elsewhere = "https://other.example/app?loginToken=stale&keep=1";
      const { callback, cookie } = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test", elsewhere);
      const page = await get(callback, cookie);
      assert.equal(page.status, 200);
      assert.equal(page.location, undefined);
      assert.match(page.body, /other\.example/);
      assert.match(page.body, /@alice:test\.local/);
      const link = /href="([^"]+)"/.exec(page.body)?.[1]?.replaceAll("&#38;", "&");
      assert.ok(link !== undefined, page.body);
      const url = new URL(link);
      assert.equal(url.searchParams.get("keep"), "1");
      // sso_login.md: an existing loginToken parameter is replaced.
      assert.deepEqual(url.searchParams.getAll("loginToken").length, 1);
      assert.notEqual(url.searchParams.get("loginToken"), "stale");
      assert.equal((await loginWithToken(hs, url.searchParams.get("loginToken") as string)).userId, "@alice:test.local");
    });

    it("refuses a callback without the login's cookie, or a second time", async () => {
      const { callback, cookie } = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test");
      const without = await get(callback);
      assert.equal(without.status, 400);
      const other = await get(callback, "weft_oidc_session=someone-elses");
      assert.equal(other.status, 400);
      // Another browser's attempts do not spoil the login for the one that started it, which finishes it once.
      assert.equal((await get(callback, cookie)).status, 302);
      assert.equal((await get(callback, cookie)).status, 400);
    });

    it("shows a page when the provider refuses the login", async () => {
      idp.nextError = "access_denied";
      const { callback, cookie } = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test");
      const page = await get(callback, cookie);
      assert.equal(page.status, 400);
      assert.match(page.body, /cancelled or refused/);
    });

    it("confirms a device deletion of an account made by SSO through the provider (m.login.sso fallback)", async () => {
      idp.nextUser = { sub: "frank-sub", claims: { preferred_username: "frank" } };
      const first = await loginWithToken(hs, await ssoLoginToken(hs));
      const second = await loginWithToken(hs, await ssoLoginToken(hs));
      assert.equal(second.userId, "@frank:test.local");
      const token = first.accessToken as string;
      const own = (await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token })).body["device_id"];
      const { body: devices } = await call(hs, "GET", "/_matrix/client/v3/devices", { token });
      const other = (devices["devices"] as Array<Record<string, unknown>>).map((d) => d["device_id"] as string).find((id) => id !== own);
      assert.ok(other !== undefined);
      const target = `/_matrix/client/v3/devices/${encodeURIComponent(other)}`;

      // No password: the only flow is single sign-on.
      const challenge = await call(hs, "DELETE", target, { token, body: {} });
      assert.equal(challenge.status, 401);
      assert.deepEqual(challenge.body["flows"], [{ stages: ["m.login.sso"] }]);
      const session = challenge.body["session"] as string;
      // Sent as an auth dict, the stage is not done.
      const early = await call(hs, "DELETE", target, { token, body: { auth: { type: "m.login.sso", session } } });
      assert.equal(early.status, 401);

      // The fallback page names the request, then the provider's login, then the page that tells the client.
      const confirm = await get(`${hs.baseUrl}/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${encodeURIComponent(session)}`);
      assert.equal(confirm.status, 200);
      assert.match(confirm.body, /DELETE \/devices/);
      assert.match(confirm.body, /may be compromised/);
      const link = /href="([^"]+)"/.exec(confirm.body)?.[1]?.replaceAll("&#38;", "&");
      assert.ok(link !== undefined, confirm.body);
      const toIdp = await get(`${hs.baseUrl}${link}`);
      assert.equal(toIdp.status, 302, toIdp.body);
      const cookie = (toIdp.setCookie as string).split(";")[0] as string;
      const atIdp = await get(toIdp.location as string);
      const done = await get(`${hs.baseUrl}${new URL(atIdp.location as string).pathname}${new URL(atIdp.location as string).search}`, cookie);
      assert.equal(done.status, 200, done.body);
      assert.match(done.body, /window\.onAuthDone\(\)/);
      assert.match(done.body, /postMessage\("authDone", "\*"\)/);

      const retried = await call(hs, "DELETE", target, { token, body: { auth: { session } } });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      const left = (await call(hs, "GET", "/_matrix/client/v3/devices", { token })).body["devices"] as Array<Record<string, unknown>>;
      assert.deepEqual(left.map((d) => d["device_id"]), [own]);
    });

    it("refuses the SSO stage when the provider logs in someone else", async () => {
      idp.nextUser = { sub: "grace-sub", claims: { preferred_username: "grace" } };
      const grace = await loginWithToken(hs, await ssoLoginToken(hs));
      const challenge = await call(hs, "POST", "/_matrix/client/v3/account/deactivate", { token: grace.accessToken as string, body: {} });
      const session = challenge.body["session"] as string;
      idp.nextUser = { sub: "alice-sub", claims: { preferred_username: "alice" } };
      const toIdp = await get(`${hs.baseUrl}/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${encodeURIComponent(session)}&idp_id=oidc-test`);
      const cookie = (toIdp.setCookie as string).split(";")[0] as string;
      const atIdp = await get(toIdp.location as string);
      const back = new URL(atIdp.location as string);
      const done = await get(`${hs.baseUrl}${back.pathname}${back.search}`, cookie);
      assert.equal(done.status, 403);
      const retried = await call(hs, "POST", "/_matrix/client/v3/account/deactivate", { token: grace.accessToken as string, body: { auth: { session } } });
      assert.equal(retried.status, 401);
      // A password account not linked to the provider is offered the password alone.
      await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "heidi", password: "a long password", auth: { type: "m.login.dummy" } } });
      const heidi = await call(hs, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "heidi" }, password: "a long password" } });
      const heidiChallenge = await call(hs, "POST", "/_matrix/client/v3/account/deactivate", { token: heidi.body["access_token"] as string, body: {} });
      assert.deepEqual(heidiChallenge.body["flows"], [{ stages: ["m.login.password"] }]);
      const noSso = await get(`${hs.baseUrl}/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${encodeURIComponent(heidiChallenge.body["session"] as string)}`);
      assert.equal(noSso.status, 403);
    });

    it("shows a page instead of a login token for a deactivated account", async () => {
      idp.nextUser = { sub: "ivan-sub", claims: { preferred_username: "ivan" } };
      const ivan = await loginWithToken(hs, await ssoLoginToken(hs));
      // No password: an admin deactivates the account (the user's own deactivation would go through SSO UIA).
      const admin = await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "root", password: "a long password", auth: { type: "m.login.dummy" } } });
      await hs.server.services.accounts.users.setAdmin("@root:test.local", true);
      const deactivated = await call(hs, "POST", `/_synapse/admin/v1/deactivate/${encodeURIComponent(ivan.userId as string)}`, { token: admin.body["access_token"] as string, body: {} });
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      const { callback, cookie } = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test");
      const page = await get(callback, cookie);
      assert.equal(page.status, 403);
      assert.match(page.body, /deactivated/);
    });

    it("answers an unknown provider with a page, and a missing redirectUrl with M_MISSING_PARAM", async () => {
      const unknown = await get(`${hs.baseUrl}/_matrix/client/v3/login/sso/redirect/oidc-nope?redirectUrl=${encodeURIComponent(CLIENT)}`);
      assert.equal(unknown.status, 404);
      assert.match(unknown.body, /Unknown identity provider/);
      const missing = await call(hs, "GET", "/_matrix/client/v3/login/sso/redirect");
      assert.equal(missing.status, 400);
      assert.equal(missing.body["errcode"], "M_MISSING_PARAM");
      const bad = await call(hs, "GET", `/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent("javascript:alert(1)")}`);
      assert.equal(bad.body["errcode"], "M_INVALID_PARAM");
    });
  });

  describe(`SSO login: the provider's account rules [${engine}]`, () => {
    let idp: OidcStandIn;
    after(async () => {
      await idp.close();
    });
    before(async () => {
      idp = await startOidcProvider();
    });

    it("with allow_existing_users, takes over the account of the mapped localpart", async () => {
      const hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp, { keys: ["allow_existing_users: true"] })]) });
      try {
        await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "bob", password: "a long password", auth: { type: "m.login.dummy" } } });
        idp.nextUser = { sub: "bob-sub", claims: { preferred_username: "bob" } };
        assert.equal((await loginWithToken(hs, await ssoLoginToken(hs))).userId, "@bob:test.local");
      } finally {
        await hs.stop();
      }
    });

    it("with attribute_requirements, lets in only the users whose claims meet them", async () => {
      const hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp, { keys: ["attribute_requirements: [{attribute: groups, value: staff}]"] })]) });
      try {
        idp.nextUser = { sub: "outsider-sub", claims: { preferred_username: "outsider", groups: ["guests"] } };
        const refused = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test");
        const page = await get(refused.callback, refused.cookie);
        assert.equal(page.status, 403);
        assert.match(page.body, /may not log in/);
        idp.nextUser = { sub: "insider-sub", claims: { preferred_username: "insider", groups: ["guests", "staff"] } };
        assert.equal((await loginWithToken(hs, await ssoLoginToken(hs))).userId, "@insider:test.local");
      } finally {
        await hs.stop();
      }
    });

    it("with sso.update_profile_information, takes the provider's display name at each login", async () => {
      const hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp)], ["update_profile_information: true"]) });
      try {
        idp.nextUser = { sub: "judy-sub", claims: { preferred_username: "judy", name: "Judy" } };
        await loginWithToken(hs, await ssoLoginToken(hs));
        idp.nextUser = { sub: "judy-sub", claims: { preferred_username: "judy", name: "Judy Hopps" } };
        assert.equal((await loginWithToken(hs, await ssoLoginToken(hs))).userId, "@judy:test.local");
        assert.equal((await call(hs, "GET", "/_matrix/client/v3/profile/@judy:test.local/displayname")).body["displayname"], "Judy Hopps");
      } finally {
        await hs.stop();
      }
    });

    it("with enable_registration: false, makes no account", async () => {
      const hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp, { keys: ["enable_registration: false"] })]) });
      try {
        idp.nextUser = { sub: "eve-sub", claims: { preferred_username: "eve" } };
        const { callback, cookie } = await toCallback(hs, "/_matrix/client/v3/login/sso/redirect/oidc-test");
        const page = await get(callback, cookie);
        assert.equal(page.status, 403);
        assert.match(page.body, /no new accounts/);
      } finally {
        await hs.stop();
      }
    });

    it("with several providers, lets the browser choose", async () => {
      const second = await startOidcProvider();
      const hs = await startTestHomeserver(engine, { yaml: ssoYaml([providerYaml(idp), providerYaml(second, { id: "second", name: "Second" })]) });
      try {
        const page = await get(`${hs.baseUrl}/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(CLIENT)}`);
        assert.equal(page.status, 200);
        assert.match(page.body, /Test IdP/);
        assert.match(page.body, /Second/);
        assert.match(page.body, /login\/sso\/redirect\/oidc-second\?redirectUrl=/);
      } finally {
        await hs.stop();
        await second.close();
      }
    });
  });
}

describe("SSO login without providers", () => {
  it("offers no m.login.sso, and the redirect is unknown", async () => {
    const hs = await startTestHomeserver("sqlite", { yaml: ACCOUNTS_YAML });
    try {
      const flows = (await call(hs, "GET", "/_matrix/client/v3/login")).body["flows"] as Array<Record<string, unknown>>;
      assert.ok(!flows.some((f) => f["type"] === "m.login.sso"));
      const res = await call(hs, "GET", "/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fx.example%2F");
      assert.equal(res.status, 404);
      assert.equal(res.body["errcode"], "M_UNRECOGNIZED");
    } finally {
      await hs.stop();
    }
  });
});
