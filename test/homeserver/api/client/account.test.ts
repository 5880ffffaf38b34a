import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, login, passwordAuth, registerUser, withPasswordUia } from "./helpers.ts";

const WHOAMI = "/_matrix/client/v3/account/whoami";
const PASSWORD = "/_matrix/client/v3/account/password";
const DEACTIVATE = "/_matrix/client/v3/account/deactivate";

for (const engine of engines) {
  describe(`account management [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    it("changes the password behind UIA, logging out the other devices but not this one", async () => {
      const alice = await registerUser(hs, "alice");
      const other = (await login(hs, "alice", alice.password)).body["access_token"] as string;

      const first = await call(hs, "POST", PASSWORD, { token: alice.accessToken, body: { new_password: "New-pass-1" } });
      assert.equal(first.status, 401);
      const session = first.body["session"] as string;
      const wrong = await call(hs, "POST", PASSWORD, {
        token: alice.accessToken,
        body: { new_password: "New-pass-1", auth: { ...passwordAuth(alice, session), password: "wrong" } },
      });
      assertError(wrong, 401, "M_FORBIDDEN");
      assert.equal(wrong.body["session"], session, "the session survives a failed attempt");
      const done = await call(hs, "POST", PASSWORD, { token: alice.accessToken, body: { new_password: "New-pass-1", auth: passwordAuth(alice, session) } });
      assert.equal(done.status, 200);
      assert.deepEqual(done.body, {});

      assert.equal((await call(hs, "GET", WHOAMI, { token: alice.accessToken })).status, 200, "the requesting device stays");
      assertError(await call(hs, "GET", WHOAMI, { token: other }), 401, "M_UNKNOWN_TOKEN");
      assertError(await login(hs, "alice", alice.password), 403, "M_FORBIDDEN");
      assert.equal((await login(hs, "alice", "New-pass-1")).status, 200);
    });

    it("keeps the other devices with logout_devices: false", async () => {
      const bob = await registerUser(hs, "bob");
      const other = (await login(hs, "bob", bob.password)).body["access_token"] as string;
      const done = await withPasswordUia(hs, "POST", PASSWORD, bob, { new_password: "Other-1", logout_devices: false });
      assert.equal(done.status, 200);
      assert.equal((await call(hs, "GET", WHOAMI, { token: other })).status, 200);
      assertError(await call(hs, "POST", PASSWORD, { token: bob.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", PASSWORD, { body: { new_password: "x" } }), 401, "M_MISSING_TOKEN");
    });

    it("binds a UIA session to its user, its endpoint and its request", async () => {
      const carol = await registerUser(hs, "carol");
      const dave = await registerUser(hs, "dave");
      const first = await call(hs, "POST", PASSWORD, { token: carol.accessToken, body: { new_password: "Carol-2" } });
      const session = first.body["session"] as string;
      // Another user cannot spend Carol's session, even with his own password.
      const otherUser = await call(hs, "POST", PASSWORD, { token: dave.accessToken, body: { new_password: "Carol-2", auth: passwordAuth(dave, session) } });
      assertError(otherUser, 403, "M_FORBIDDEN");
      // Nor can the session serve another request of Carol's.
      const otherBody = await call(hs, "POST", PASSWORD, { token: carol.accessToken, body: { new_password: "Evil-1", auth: passwordAuth(carol, session) } });
      assertError(otherBody, 403, "M_FORBIDDEN");
      const otherEndpoint = await call(hs, "POST", DEACTIVATE, { token: carol.accessToken, body: { new_password: "Carol-2", auth: passwordAuth(carol, session) } });
      assertError(otherEndpoint, 403, "M_FORBIDDEN");
      // Dave's password does not pass as Carol's in her own session either: a 403, not a retryable 401
      // (Complement's TestDeviceManagement "requires UI auth user to match device owner").
      const davesIdentity = await call(hs, "POST", PASSWORD, { token: carol.accessToken, body: { new_password: "Carol-2", auth: passwordAuth(dave, session) } });
      assertError(davesIdentity, 403, "M_FORBIDDEN");
      // The session still works for what it was opened for, once; a retry then gets "a 401 response
      // with the completed stages" (client-server-api#user-interactive-authentication-api), not a second change.
      const done = await call(hs, "POST", PASSWORD, { token: carol.accessToken, body: { new_password: "Carol-2", auth: passwordAuth(carol, session) } });
      assert.equal(done.status, 200);
      const replay = await call(hs, "POST", PASSWORD, { token: carol.accessToken, body: { new_password: "Carol-2", auth: passwordAuth({ ...carol, password: "Carol-2" }, session) } });
      assert.equal(replay.status, 401, JSON.stringify(replay.body));
      assert.equal(replay.body["session"], session);
      assert.deepEqual(replay.body["completed"], ["m.login.password"]);
      // A stage the flows do not name is refused with the 401.
      const dummy = await call(hs, "POST", PASSWORD, { token: dave.accessToken, body: { new_password: "x", auth: { type: "m.login.dummy" } } });
      assertError(dummy, 401, "M_UNRECOGNIZED");
      assert.deepEqual(dummy.body["flows"], [{ stages: ["m.login.password"] }]);
    });

    it("deactivates an account: its tokens die, it cannot log in, and its user ID is never given out again", async () => {
      const erin = await registerUser(hs, "erin");
      const other = (await login(hs, "erin", erin.password, { refresh_token: true })).body;
      const done = await withPasswordUia(hs, "POST", DEACTIVATE, erin, {});
      assert.equal(done.status, 200);
      assert.deepEqual(done.body, { id_server_unbind_result: "success" });
      for (const token of [erin.accessToken, other["access_token"] as string]) {
        assertError(await call(hs, "GET", WHOAMI, { token }), 401, "M_UNKNOWN_TOKEN");
      }
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: other["refresh_token"] } }), 401, "M_UNKNOWN_TOKEN");
      assertError(await login(hs, "erin", erin.password), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", "/_matrix/client/v3/register/available?username=erin"), 400, "M_USER_IN_USE");
      assertError(await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "erin", password: "pw" } }), 400, "M_USER_IN_USE");
      // Without erase the profile stays.
      const profile = await call(hs, "GET", `/_matrix/client/v3/profile/${encodeURIComponent(erin.userId)}`);
      assert.equal(profile.body["displayname"], "erin");
    });

    it("erases the profile and the account data when asked, and tells the deactivation listeners", async () => {
      const fay = await registerUser(hs, "fay");
      const seen: unknown[] = [];
      hs.server.services.accounts.accounts.onDeactivated((userId, options) => {
        seen.push([userId, options.erase]);
      });
      const id = encodeURIComponent(fay.userId);
      await call(hs, "PUT", `/_matrix/client/v3/profile/${id}/avatar_url`, { token: fay.accessToken, body: { avatar_url: "mxc://test.local/fay" } });
      await call(hs, "PUT", `/_matrix/client/v3/profile/${id}/org.example.job`, { token: fay.accessToken, body: { "org.example.job": "baker" } });
      await call(hs, "PUT", `/_matrix/client/v3/user/${id}/account_data/org.example.x`, { token: fay.accessToken, body: { a: 1 } });
      const done = await withPasswordUia(hs, "POST", DEACTIVATE, fay, { erase: true, id_server: "id.example.org" });
      assert.equal(done.status, 200);
      assert.deepEqual((await call(hs, "GET", `/_matrix/client/v3/profile/${id}`)).body, {});
      assert.equal(await hs.server.services.accounts.accountData.changesSince(fay.userId, 0).then((c) => c.length), 0);
      assert.deepEqual(seen, [[fay.userId, true]]);
    });

    it("lists no third-party identifiers, and whoami answers for the token", async () => {
      const gus = await registerUser(hs, "gus");
      assert.deepEqual((await call(hs, "GET", "/_matrix/client/v3/account/3pid", { token: gus.accessToken })).body, { threepids: [] });
      assert.deepEqual((await call(hs, "GET", WHOAMI, { token: gus.accessToken })).body, { user_id: gus.userId, device_id: gus.deviceId, is_guest: false });
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/3pid"), 401, "M_MISSING_TOKEN");
    });
  });
}
