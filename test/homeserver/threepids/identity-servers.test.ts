// Binding and unbinding 3PIDs at identity servers through the homeserver (administrative_contact.yaml
// /3pid/bind, /3pid/unbind, /3pid/delete; account_deactivation.yaml id_server), against a stand-in
// identity server over HTTPS that checks the bind body and the X-Matrix signature of each unbind.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { assertError, call, registerUser, withPasswordUia, type TestUser } from "../api/client/helpers.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { freePort } from "../federation/tls-homeserver.ts";
import { startMailingHomeserver, validatedEmail, type MailingHomeserver } from "./helpers.ts";
import { ID_ACCESS_TOKEN, startIdentityServerStandIn, type IdentityServerStandIn } from "./identity-server-stand-in.ts";

const BIND = "/_matrix/client/v3/account/3pid/bind";
const UNBIND = "/_matrix/client/v3/account/3pid/unbind";
const DELETE = "/_matrix/client/v3/account/3pid/delete";

for (const engine of engines) {
  describe(`3PIDs at identity servers [${engine}]`, () => {
    let pki: TestPki;
    let m: MailingHomeserver;
    let is: IdentityServerStandIn;
    before(async () => {
      pki = await createTestPki();
      m = await startMailingHomeserver(engine, { yaml: `federation_custom_ca_list: [${pki.caPath}]\nip_range_whitelist: ['127.0.0.0/8']` });
      is = await startIdentityServerStandIn(pki, { baseUrl: m.hs.baseUrl, serverName: m.hs.config.serverName });
    });
    after(async () => {
      await is.stop();
      await m.stop();
      await pki.cleanup();
    });

    const bind = (user: TestUser, sid = "is-sid", path = BIND) =>
      call(m.hs, "POST", path, { token: user.accessToken, body: { id_server: is.name, id_access_token: ID_ACCESS_TOKEN, sid, client_secret: "is-secret" } });

    it("binds through the identity server and unbinds, signed, from where it was bound", async () => {
      is.unbindMode = "ok";
      const una = await registerUser(m.hs, "una");
      assert.deepEqual(await bind(una), { status: 200, body: {} });
      assert.deepEqual(is.binds.at(-1), { sid: "is-sid", client_secret: "is-secret", mxid: una.userId });

      const unbound = await call(m.hs, "POST", UNBIND, { token: una.accessToken, body: { medium: "email", address: "una@example.org" } });
      assert.deepEqual(unbound, { status: 200, body: { id_server_unbind_result: "success" } });
      assert.deepEqual(is.unbinds.at(-1), { mxid: una.userId, threepid: { medium: "email", address: "una@example.org" }, origin: m.hs.config.serverName, destination: is.name });
      // The binding is forgotten: nothing left to unbind from.
      const again = await call(m.hs, "POST", UNBIND, { token: una.accessToken, body: { medium: "email", address: "una@example.org" } });
      assert.deepEqual(again.body, { id_server_unbind_result: "no-support" });
      // Named explicitly, the identity server is asked anyway.
      const count = is.unbinds.length;
      const named = await call(m.hs, "POST", UNBIND, { token: una.accessToken, body: { medium: "email", address: "una@example.org", id_server: is.name } });
      assert.deepEqual(named.body, { id_server_unbind_result: "success" });
      assert.equal(is.unbinds.length, count + 1);
    });

    it("binds through the deprecated POST /account/3pid, and passes on the identity server's errors", async () => {
      const vic = await registerUser(m.hs, "vic");
      // The deprecated endpoint takes the credentials inside three_pid_creds.
      assertError(await bind(vic, "is-sid", "/_matrix/client/v3/account/3pid"), 400, "M_MISSING_PARAM");
      const legacy = await call(m.hs, "POST", "/_matrix/client/v3/account/3pid", {
        token: vic.accessToken,
        body: { three_pid_creds: { id_server: is.name, id_access_token: ID_ACCESS_TOKEN, sid: "is-sid", client_secret: "is-secret" } },
      });
      assert.deepEqual(legacy, { status: 200, body: {} });
      assert.equal(is.binds.at(-1)?.["mxid"], vic.userId);
      // "Homeservers should simply proxy any errors received by the identity server to the caller".
      assertError(await bind(vic, "unvalidated"), 400, "M_SESSION_NOT_VALIDATED");
      // The deprecated endpoint has its own answer for that: 403 M_THREEPID_AUTH_FAILED.
      const legacyRefused = await call(m.hs, "POST", "/_matrix/client/v3/account/3pid", {
        token: vic.accessToken,
        body: { three_pid_creds: { id_server: is.name, id_access_token: ID_ACCESS_TOKEN, sid: "unvalidated", client_secret: "is-secret" } },
      });
      assertError(legacyRefused, 403, "M_THREEPID_AUTH_FAILED");
      const badToken = await call(m.hs, "POST", BIND, { token: vic.accessToken, body: { id_server: is.name, id_access_token: "wrong", sid: "s", client_secret: "c" } });
      // The identity server's 401 reaches the client as 403: a 401 would read as its own token refused here.
      assertError(badToken, 403, "M_UNAUTHORIZED");
      // An identity server that cannot be reached: 502.
      const closed = await freePort();
      const unreachable = await call(m.hs, "POST", BIND, { token: vic.accessToken, body: { id_server: `127.0.0.1:${closed}`, id_access_token: "t", sid: "s", client_secret: "c" } });
      assertError(unreachable, 502, "M_CONNECTION_FAILED");
      assertError(await call(m.hs, "POST", BIND, { token: vic.accessToken, body: { id_server: is.name } }), 400, "M_MISSING_PARAM");
    });

    it("answers no-support when the identity server does not unbind, and 502 when it fails", async () => {
      const wes = await registerUser(m.hs, "wes");
      assert.equal((await bind(wes)).status, 200);
      is.unbindMode = "broken";
      assertError(await call(m.hs, "POST", UNBIND, { token: wes.accessToken, body: { medium: "email", address: "una@example.org" } }), 502, "M_UNKNOWN");
      is.unbindMode = "unsupported";
      // The binding survived the failure, so the server is asked again.
      const unsupported = await call(m.hs, "POST", UNBIND, { token: wes.accessToken, body: { medium: "email", address: "una@example.org" } });
      assert.deepEqual(unsupported.body, { id_server_unbind_result: "no-support" });
      is.unbindMode = "ok";
    });

    it("deletes an added and bound address, unbinding it", async () => {
      is.unbindMode = "ok";
      const xia = await registerUser(m.hs, "xia");
      const mailed = await validatedEmail(m, "account/3pid", "una@example.org");
      assert.equal((await withPasswordUia(m.hs, "POST", "/_matrix/client/v3/account/3pid/add", xia, { sid: mailed.sid, client_secret: mailed.clientSecret })).status, 200);
      assert.equal((await bind(xia)).status, 200);
      const count = is.unbinds.length;
      const deleted = await call(m.hs, "POST", DELETE, { token: xia.accessToken, body: { medium: "email", address: "Una@example.org" } });
      assert.deepEqual(deleted, { status: 200, body: { id_server_unbind_result: "success" } });
      assert.equal(is.unbinds.length, count + 1);
      assert.equal(is.unbinds.at(-1)?.mxid, xia.userId);
      assert.deepEqual((await call(m.hs, "GET", "/_matrix/client/v3/account/3pid", { token: xia.accessToken })).body, { threepids: [] });
    });

    it("unbinds every bound 3PID when the account is deactivated, and removes its 3PIDs", async () => {
      is.unbindMode = "ok";
      const yan = await registerUser(m.hs, "yan");
      const mailed = await validatedEmail(m, "account/3pid", "yan@example.org");
      assert.equal((await withPasswordUia(m.hs, "POST", "/_matrix/client/v3/account/3pid/add", yan, { sid: mailed.sid, client_secret: mailed.clientSecret })).status, 200);
      assert.equal((await bind(yan)).status, 200);
      const count = is.unbinds.length;
      const deactivated = await withPasswordUia(m.hs, "POST", "/_matrix/client/v3/account/deactivate", yan, {});
      assert.deepEqual(deactivated, { status: 200, body: { id_server_unbind_result: "success" } });
      assert.deepEqual(is.unbinds.slice(count).map((u) => [u.mxid, u.threepid]), [[yan.userId, { medium: "email", address: "una@example.org" }]]);
      // Its address is free again.
      assert.equal((await call(m.hs, "POST", "/_matrix/client/v3/register/email/requestToken", { body: { client_secret: "s", email: "yan@example.org", send_attempt: 1 } })).status, 200);

      // With id_server, every 3PID of the account is unbound there; an identity server that does not unbind: no-support.
      const zed = await registerUser(m.hs, "zed");
      const zedMail = await validatedEmail(m, "account/3pid", "zed@example.org");
      assert.equal((await withPasswordUia(m.hs, "POST", "/_matrix/client/v3/account/3pid/add", zed, { sid: zedMail.sid, client_secret: zedMail.clientSecret })).status, 200);
      is.unbindMode = "unsupported";
      const before = is.unbinds.length;
      const result = await withPasswordUia(m.hs, "POST", "/_matrix/client/v3/account/deactivate", zed, { id_server: is.name });
      assert.deepEqual(result, { status: 200, body: { id_server_unbind_result: "no-support" } });
      assert.deepEqual(is.unbinds.slice(before).map((u) => u.threepid), [{ medium: "email", address: "zed@example.org" }]);
      is.unbindMode = "ok";
    });
  });
}
