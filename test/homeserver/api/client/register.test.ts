import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerGuest, registerUser, tokenEntropyBytes } from "./helpers.ts";

const REGISTER = "/_matrix/client/v3/register";

for (const engine of engines) {
  describe(`POST /register with m.login.dummy [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${ACCOUNTS_YAML}\nallow_guest_access: true` });
    });
    after(() => hs.stop());

    it("answers 401 with the dummy flow and a session, then registers with the dummy stage", async () => {
      const body = { username: "alice", password: "Secret-1", initial_device_display_name: "Alice's phone" };
      const first = await call(hs, "POST", REGISTER, { body });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body["flows"], [{ stages: ["m.login.dummy"] }]);
      assert.deepEqual(first.body["params"], {});
      assert.equal(first.body["errcode"], undefined, "no errcode before any attempt");
      const session = first.body["session"] as string;
      assert.ok(session.length >= 16);

      const done = await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.dummy", session } } });
      assert.equal(done.status, 200);
      assert.equal(done.body["user_id"], "@alice:test.local");
      assert.equal(done.body["home_server"], "test.local");
      const token = done.body["access_token"] as string;
      assert.ok(tokenEntropyBytes(token) >= 16, "at least 128 bits");
      const whoami = await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token });
      assert.deepEqual(whoami.body, { user_id: "@alice:test.local", device_id: done.body["device_id"], is_guest: false });
      const device = await call(hs, "GET", `/_matrix/client/v3/devices/${done.body["device_id"] as string}`, { token });
      assert.equal(device.body["display_name"], "Alice's phone");
    });

    it("refuses a used-up session, and a session spent on another request body", async () => {
      const body = { username: "bruno", password: "Secret-1" };
      const first = await call(hs, "POST", REGISTER, { body });
      const session = first.body["session"] as string;
      const other = await call(hs, "POST", REGISTER, { body: { username: "mallory", password: "x", auth: { type: "m.login.dummy", session } } });
      assertError(other, 403, "M_FORBIDDEN");
      const done = await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.dummy", session } } });
      assert.equal(done.status, 200);
      // Used up: it serves no other request, and the same one finds its username taken.
      const replay = await call(hs, "POST", REGISTER, { body: { username: "bruno2", password: "Secret-1", auth: { type: "m.login.dummy", session } } });
      assertError(replay, 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.dummy", session } } }), 400, "M_USER_IN_USE");
    });

    it("accepts the dummy stage without a prior session, and maps the username to lower case", async () => {
      const done = await call(hs, "POST", REGISTER, { body: { username: "Carol", password: "pw", auth: { type: "m.login.dummy" } } });
      assert.equal(done.status, 200);
      assert.equal(done.body["user_id"], "@carol:test.local");
    });

    it("checks the username before UIA: M_USER_IN_USE, M_INVALID_USERNAME; and needs a password", async () => {
      await registerUser(hs, "dora");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "dora", password: "pw" } }), 400, "M_USER_IN_USE");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "DORA", password: "pw" } }), 400, "M_USER_IN_USE");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "dora smith", password: "pw" } }), 400, "M_INVALID_USERNAME");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "12345", password: "pw" } }), 400, "M_INVALID_USERNAME");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "x".repeat(300), password: "pw" } }), 400, "M_INVALID_USERNAME");
      assertError(await call(hs, "POST", REGISTER, { body: { username: "erin", auth: { type: "m.login.dummy" } } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", REGISTER, { body: { username: 5, password: "pw" } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", `${REGISTER}?kind=admin`, { body: { password: "pw" } }), 400, "M_INVALID_PARAM");
    });

    it("registers without a username, with inhibit_login, with a device ID, and with refresh tokens", async () => {
      const generated = await registerUser(hs, "unused").then(() =>
        call(hs, "POST", REGISTER, { body: { password: "pw", auth: { type: "m.login.dummy" } } }),
      );
      assert.match(generated.body["user_id"] as string, /^@[a-z][a-z0-9]{11}:test\.local$/);

      const inhibited = await call(hs, "POST", REGISTER, { body: { username: "fred", password: "pw", inhibit_login: true, auth: { type: "m.login.dummy" } } });
      assert.deepEqual(inhibited.body, { user_id: "@fred:test.local", home_server: "test.local" });

      const withDevice = await call(hs, "POST", REGISTER, {
        body: { username: "gina", password: "pw", device_id: "GINAPHONE", refresh_token: true, auth: { type: "m.login.dummy" } },
      });
      assert.equal(withDevice.body["device_id"], "GINAPHONE");
      assert.equal(typeof withDevice.body["refresh_token"], "string");
      assert.ok(tokenEntropyBytes(withDevice.body["refresh_token"] as string) >= 16);
      assert.equal(withDevice.body["expires_in_ms"], 300_000);
    });

    it("answers /register/available", async () => {
      await registerUser(hs, "hugo");
      const path = "/_matrix/client/v3/register/available";
      assert.deepEqual((await call(hs, "GET", `${path}?username=not_taken`)).body, { available: true });
      assertError(await call(hs, "GET", `${path}?username=hugo`), 400, "M_USER_IN_USE");
      assertError(await call(hs, "GET", `${path}?username=h%C3%BCgo`), 400, "M_INVALID_USERNAME");
      assertError(await call(hs, "GET", path), 400, "M_MISSING_PARAM");
    });

    it("registers guests, who may use whoami but not account data", async () => {
      const guest = await call(hs, "POST", `${REGISTER}?kind=guest`, { body: { username: "ignored", initial_device_display_name: "Guest device" } });
      assert.equal(guest.status, 200);
      assert.match(guest.body["user_id"] as string, /^@[0-9]+:test\.local$/);
      const token = guest.body["access_token"] as string;
      const whoami = await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token });
      assert.equal(whoami.body["is_guest"], true);
      const userId = encodeURIComponent(guest.body["user_id"] as string);
      assertError(await call(hs, "PUT", `/_matrix/client/v3/user/${userId}/account_data/a.b`, { token, body: {} }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await call(hs, "PUT", `/_matrix/client/v3/profile/${userId}/avatar_url`, { token, body: { avatar_url: "mxc://a/b" } }), 403, "M_FORBIDDEN");
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/profile/${userId}/displayname`, { token, body: { displayname: "G" } })).status, 200);
    });

    it("upgrades a guest through the ordinary flow with guest_access_token and its own localpart", async () => {
      const guest = await registerGuest(hs);
      const localpart = guest.userId.slice(1).split(":")[0] as string;
      const upgrade = (body: Record<string, unknown>) => call(hs, "POST", REGISTER, { body: { guest_access_token: guest.accessToken, password: "Guest-no-more-1", ...body } });
      // modules/guest_access.md: "required to specify the username parameter to the value of the local part".
      assertError(await upgrade({ username: "someoneelse", auth: { type: "m.login.dummy" } }), 400, "M_INVALID_PARAM");
      assertError(await upgrade({ auth: { type: "m.login.dummy" } }), 400, "M_INVALID_PARAM");
      const challenge = await upgrade({ username: localpart });
      assert.equal(challenge.status, 401, "the ordinary flow: UIA first");
      const done = await upgrade({ username: localpart, auth: { type: "m.login.dummy", session: challenge.body["session"] } });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body["user_id"], guest.userId);
      const token = done.body["access_token"] as string;
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token })).body["is_guest"], false);
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: guest.accessToken })).body["is_guest"], false, "the guest session is a full user's now");
      const login = await call(hs, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password: "Guest-no-more-1" } });
      assert.equal(login.status, 200);
      // A full user's token upgrades nothing.
      const full = await registerUser(hs, "notaguest");
      assertError(await call(hs, "POST", REGISTER, { body: { guest_access_token: full.accessToken, username: "notaguest", password: "x" } }), 403, "M_FORBIDDEN");
    });

    it("serves r0 paths too", async () => {
      const first = await call(hs, "POST", "/_matrix/client/r0/register", { body: { username: "ines", password: "pw" } });
      assert.equal(first.status, 401);
    });
  });

  describe(`registration switched off [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: "rc_registration: {per_second: 1000, burst_count: 1000}" });
    });
    after(() => hs.stop());

    it("refuses users, guests, availability checks and token validity with M_FORBIDDEN", async () => {
      assertError(await call(hs, "POST", REGISTER, { body: { username: "zed", password: "pw" } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `${REGISTER}?kind=guest`, { body: {} }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await call(hs, "GET", "/_matrix/client/v3/register/available?username=zed"), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token=abc"), 403, "M_FORBIDDEN");
    });
  });

  describe(`registration with m.login.registration_token [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, {
        yaml: ACCOUNTS_YAML.replace("enable_registration_without_verification: true", "registration_requires_token: true"),
      });
    });
    after(() => hs.stop());
    const tokens = () => hs.server.services.accounts.registrationTokens;
    const validity = (token: string) => call(hs, "GET", `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);

    it("offers only the token flow, refuses a wrong token, and counts pending and completed uses", async () => {
      await tokens().create({ token: "one-use", usesAllowed: 1 });
      assert.deepEqual((await validity("one-use")).body, { valid: true });
      assert.deepEqual((await validity("nope")).body, { valid: false });
      assertError(await validity(""), 400, "M_MISSING_PARAM");

      const body = { username: "jane", password: "pw" };
      const first = await call(hs, "POST", REGISTER, { body });
      assert.deepEqual(first.body["flows"], [{ stages: ["m.login.registration_token"] }]);
      const session = first.body["session"] as string;
      const dummy = await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.dummy", session } } });
      assert.equal(dummy.status, 401, "the dummy stage is not offered");
      const wrong = await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.registration_token", token: "nope", session } } });
      assertError(wrong, 401, "M_UNAUTHORIZED");
      assert.equal(wrong.body["session"], session);
      assert.deepEqual(wrong.body["flows"], [{ stages: ["m.login.registration_token"] }]);

      const done = await call(hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.registration_token", token: "one-use", session } } });
      assert.equal(done.status, 200);
      const used = await tokens().get("one-use");
      assert.deepEqual([used.pending, used.completed], [0, 1]);
      assert.deepEqual((await validity("one-use")).body, { valid: false });
      const again = await call(hs, "POST", REGISTER, { body: { username: "kim", password: "pw", auth: { type: "m.login.registration_token", token: "one-use" } } });
      assertError(again, 401, "M_UNAUTHORIZED");
    });

    it("refuses expired and used-up tokens, and follows changes to their limits", async () => {
      await tokens().create({ token: "expiring", expiryTime: Date.now() + 60_000 });
      assert.deepEqual((await validity("expiring")).body, { valid: true });
      await tokens().update("expiring", { usesAllowed: 0 });
      assert.deepEqual((await validity("expiring")).body, { valid: false });
      const refused = await call(hs, "POST", REGISTER, { body: { username: "lena", password: "pw", auth: { type: "m.login.registration_token", token: "expiring" } } });
      assertError(refused, 401, "M_UNAUTHORIZED");
      await tokens().update("expiring", { usesAllowed: null });
      const done = await call(hs, "POST", REGISTER, { body: { username: "lena", password: "pw", auth: { type: "m.login.registration_token", token: "expiring" } } });
      assert.equal(done.status, 200);
      const t = await tokens().get("expiring");
      assert.deepEqual([t.pending, t.completed], [0, 1]);
    });
  });
}
