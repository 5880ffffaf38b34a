import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { tokenHash } from "../../../../src/homeserver/devices/tokens.ts";
import { DeviceStore } from "../../../../src/storage/stores/devices.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, login, passwordAuth, registerUser, tokenEntropyBytes, type TestUser } from "./helpers.ts";

const LOGIN = "/_matrix/client/v3/login";
const WHOAMI = "/_matrix/client/v3/account/whoami";

for (const engine of engines) {
  describe(`login, refresh and logout [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      alice = await registerUser(hs, "alice");
    });
    after(() => hs.stop());

    it("lists the login flows", async () => {
      const flows = await call(hs, "GET", LOGIN);
      assert.deepEqual(flows.body, { flows: [{ type: "m.login.password" }, { type: "m.login.token", get_login_token: true }] });
    });

    it("logs in by full user ID, by localpart, case-insensitively, and by the deprecated `user`", async () => {
      for (const user of ["@alice:test.local", "alice", "ALICE", "@Alice:test.local"]) {
        const reply = await login(hs, user, alice.password);
        assert.equal(reply.status, 200, `${user}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body["user_id"], "@alice:test.local");
        assert.equal(reply.body["home_server"], "test.local");
        assert.ok(tokenEntropyBytes(reply.body["access_token"] as string) >= 16);
        assert.equal(reply.body["refresh_token"], undefined);
        assert.equal(reply.body["expires_in_ms"], undefined);
      }
      const legacy = await call(hs, "POST", LOGIN, { body: { type: "m.login.password", user: "alice", password: alice.password } });
      assert.equal(legacy.status, 200);
      const whoami = await call(hs, "GET", WHOAMI, { token: legacy.body["access_token"] as string });
      assert.deepEqual(whoami.body, { user_id: alice.userId, device_id: legacy.body["device_id"], is_guest: false });
    });

    it("refuses wrong passwords, unknown users, other servers' users and unknown login types", async () => {
      assertError(await login(hs, "alice", "wrong"), 403, "M_FORBIDDEN");
      assertError(await login(hs, "nobody", "wrong"), 403, "M_FORBIDDEN");
      assertError(await login(hs, "@alice:elsewhere.example", alice.password), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.magic" } }), 400, "M_UNKNOWN");
      assertError(await call(hs, "POST", LOGIN, { body: { identifier: { type: "m.id.user", user: "alice" } } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" } } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.password", password: "x" } }), 400, "M_MISSING_PARAM");
      const thirdParty = { type: "m.id.thirdparty", medium: "email", address: "alice@example.org" };
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.password", identifier: thirdParty, password: "x" } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.password", identifier: { type: "x.y" }, password: "x" } }), 400, "M_UNKNOWN");
      assertError(await call(hs, "POST", LOGIN, { rawBody: "{not json" }), 400, "M_NOT_JSON");
    });

    it("reuses a device named by the client, revoking its earlier token at once", async () => {
      const first = await login(hs, "alice", alice.password, { device_id: "ALICELAPTOP", initial_device_display_name: "Laptop" });
      assert.equal(first.body["device_id"], "ALICELAPTOP");
      const firstToken = first.body["access_token"] as string;
      assert.equal((await call(hs, "GET", WHOAMI, { token: firstToken })).status, 200);
      const second = await login(hs, "alice", alice.password, { device_id: "ALICELAPTOP", initial_device_display_name: "Ignored" });
      assert.equal(second.body["device_id"], "ALICELAPTOP");
      assertError(await call(hs, "GET", WHOAMI, { token: firstToken }), 401, "M_UNKNOWN_TOKEN");
      const device = await call(hs, "GET", "/_matrix/client/v3/devices/ALICELAPTOP", { token: second.body["access_token"] as string });
      assert.equal(device.body["display_name"], "Laptop");
    });

    it("issues expiring access tokens with refresh tokens, and rotates them", async () => {
      const first = await login(hs, "alice", alice.password, { refresh_token: true });
      assert.equal(first.body["expires_in_ms"], 300_000);
      const r1 = first.body["refresh_token"] as string;
      const a1 = first.body["access_token"] as string;
      assert.equal((await call(hs, "GET", WHOAMI, { token: a1 })).status, 200);

      const refreshed = await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r1 } });
      assert.equal(refreshed.status, 200);
      const { access_token: a2, refresh_token: r2 } = refreshed.body as { access_token: string; refresh_token: string };
      assert.equal(refreshed.body["expires_in_ms"], 300_000);
      assert.notEqual(r2, r1);
      assertError(await call(hs, "GET", WHOAMI, { token: a1 }), 401, "M_UNKNOWN_TOKEN");

      // Until its successor is used, the old refresh token still works (the client may have lost the answer).
      const retried = await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r1 } });
      assert.equal(retried.status, 200);
      const { access_token: a2b, refresh_token: r2b } = retried.body as { access_token: string; refresh_token: string };
      assertError(await call(hs, "GET", WHOAMI, { token: a2 }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r2 } }), 401, "M_UNKNOWN_TOKEN");

      // Using the new access token revokes the old refresh token.
      const whoami = await call(hs, "GET", WHOAMI, { token: a2b });
      assert.equal(whoami.body["device_id"], first.body["device_id"]);
      const stale = await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r1 } });
      assertError(stale, 401, "M_UNKNOWN_TOKEN");
      assert.equal(stale.body["soft_logout"], false);

      // And using the new refresh token revokes its predecessor too.
      const third = await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r2b } });
      assert.equal(third.status, 200);
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: r1 } }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: {} }), 400, "M_MISSING_PARAM");
    });

    it("answers an expired access token with soft_logout: true", async () => {
      const session = await login(hs, "alice", alice.password);
      const expired = "wft_expired-token-for-the-soft-logout-test";
      await new DeviceStore(hs.server.services.db).createAccessToken(tokenHash(expired), {
        userId: alice.userId,
        deviceId: session.body["device_id"] as string,
        expiresTs: Date.now() - 1,
      });
      const reply = await call(hs, "GET", WHOAMI, { token: expired });
      assertError(reply, 401, "M_UNKNOWN_TOKEN");
      assert.equal(reply.body["soft_logout"], true);
      const unknown = await call(hs, "GET", WHOAMI, { token: "wft_never-issued" });
      assertError(unknown, 401, "M_UNKNOWN_TOKEN");
      assert.equal(unknown.body["soft_logout"], false);
      assertError(await call(hs, "GET", WHOAMI), 401, "M_MISSING_TOKEN");
    });

    it("logs out one device, then all of them", async () => {
      const one = (await login(hs, "alice", alice.password)).body;
      const two = (await login(hs, "alice", alice.password)).body;
      const three = (await login(hs, "alice", alice.password, { refresh_token: true })).body;
      const token = (b: Record<string, unknown>) => b["access_token"] as string;
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout", { token: token(one) })).status, 200);
      assertError(await call(hs, "GET", WHOAMI, { token: token(one) }), 401, "M_UNKNOWN_TOKEN");
      const devices = await call(hs, "GET", "/_matrix/client/v3/devices", { token: token(two) });
      const ids = (devices.body["devices"] as { device_id: string }[]).map((d) => d.device_id);
      assert.ok(!ids.includes(one["device_id"] as string), "the device went with its token");

      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout/all", { token: token(two) })).status, 200);
      for (const b of [two, three]) assertError(await call(hs, "GET", WHOAMI, { token: token(b) }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "GET", WHOAMI, { token: alice.accessToken }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: three["refresh_token"] } }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/logout", { token: token(two) }), 401, "M_UNKNOWN_TOKEN");
    });

    it("makes single-use login tokens behind UIA (m.login.token, /login/get_token)", async () => {
      const session = (await login(hs, "alice", alice.password)).body;
      const user = { ...alice, accessToken: session["access_token"] as string };
      const path = "/_matrix/client/v1/login/get_token";
      const first = await call(hs, "POST", path, { token: user.accessToken, body: {} });
      assert.equal(first.status, 401);
      const wrong = await call(hs, "POST", path, { token: user.accessToken, body: { auth: { ...passwordAuth(user, first.body["session"] as string), password: "nope" } } });
      assertError(wrong, 401, "M_FORBIDDEN");
      const got = await call(hs, "POST", path, { token: user.accessToken, body: { auth: passwordAuth(user, first.body["session"] as string) } });
      assert.equal(got.status, 200);
      assert.equal(got.body["expires_in_ms"], 120_000);
      const loginToken = got.body["login_token"] as string;
      assert.ok(tokenEntropyBytes(loginToken) >= 16);

      const byToken = await call(hs, "POST", LOGIN, { body: { type: "m.login.token", token: loginToken } });
      assert.equal(byToken.status, 200);
      assert.equal(byToken.body["user_id"], alice.userId);
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.token", token: loginToken } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.token", token: "wfl_made-up" } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", LOGIN, { body: { type: "m.login.token" } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", path, { body: {} }), 401, "M_MISSING_TOKEN");
    });
  });

  describe(`login rate limits (rc_login) [${engine}]`, () => {
    let hs: TestHomeserver;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, {
        yaml: [
          "enable_registration: true",
          "enable_registration_without_verification: true",
          "rc_registration: {per_second: 1000, burst_count: 1000}",
          "rc_login:",
          "  address: {per_second: 0.001, burst_count: 8}",
          "  account: {per_second: 0.001, burst_count: 3}",
          "  failed_attempts: {per_second: 0.001, burst_count: 2}",
        ].join("\n"),
      });
      bob = await registerUser(hs, "bob");
      carol = await registerUser(hs, "carol");
    });
    after(() => hs.stop());

    it("limits failed attempts per account, then attempts per account, then requests per address", async () => {
      assertError(await login(hs, "bob", "wrong-1"), 403, "M_FORBIDDEN");
      assertError(await login(hs, "bob", "wrong-2"), 403, "M_FORBIDDEN");
      const limited = await login(hs, "bob", bob.password);
      assertError(limited, 429, "M_LIMIT_EXCEEDED");
      assert.ok((limited.body["retry_after_ms"] as number) > 0);

      // Another account is not affected; a success clears its failed attempts.
      assertError(await login(hs, "carol", "wrong"), 403, "M_FORBIDDEN");
      assert.equal((await login(hs, "carol", carol.password)).status, 200);
      assert.equal((await login(hs, "carol", carol.password)).status, 200);
      // Its fourth attempt goes beyond rc_login.account, whatever the case of the name.
      assertError(await login(hs, "@CAROL:test.local", carol.password), 429, "M_LIMIT_EXCEEDED");

      // Seven requests so far from this address; the eighth fills rc_login.address.
      assertError(await login(hs, "dave", "x"), 403, "M_FORBIDDEN");
      assertError(await login(hs, "erin", "x"), 429, "M_LIMIT_EXCEEDED");
    });
  });
}
