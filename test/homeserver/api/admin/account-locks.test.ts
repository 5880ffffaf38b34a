// Account locking (client-server-api#account-locking, admin.yaml /v1/admin/lock/{userId}) over real
// HTTP on both engines: who may look and lock (admins, not of themselves or of other admins, local
// accounts only, authorisation before any lookup), what a locked account gets (401 M_USER_LOCKED
// with soft_logout everywhere but the logouts, also at login), its sessions kept for the unlock,
// the lock kept across a restart, and the m.account_moderation capability for admins.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { startRestartable } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const lockPath = (userId: string) => `/_matrix/client/v1/admin/lock/${encodeURIComponent(userId)}`;

for (const engine of engines) {
  describe(`account locking [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let otherAdmin: string;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ADMIN_YAML });
      admin = await registerAdmin(hs, "root");
      otherAdmin = await registerAdmin(hs, "root2");
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
    });
    after(() => hs.stop());

    const lock = (token: string, userId: string, locked: boolean) => call(hs, "PUT", lockPath(userId), { token, body: { locked } });
    const whoami = (user: TestUser) => call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: user.accessToken });

    it("locks an account: every request but the logouts answers 401 M_USER_LOCKED with soft_logout, until the unlock", async () => {
      assert.deepEqual((await call(hs, "GET", lockPath(alice.userId), { token: admin })).body, { locked: false });
      const locked = await lock(admin, alice.userId, true);
      assert.equal(locked.status, 200, JSON.stringify(locked.body));
      assert.deepEqual(locked.body, { locked: true });
      assert.deepEqual((await call(hs, "GET", lockPath(alice.userId), { token: admin })).body, { locked: true });
      for (const reply of [await whoami(alice), await call(hs, "GET", "/_matrix/client/v3/sync?timeout=0", { token: alice.accessToken })]) {
        assertError(reply, 401, "M_USER_LOCKED");
        assert.equal(reply.body["soft_logout"], true);
      }
      const login = await call(hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: alice.password },
      });
      assertError(login, 401, "M_USER_LOCKED");
      assert.equal((await whoami(bob)).status, 200, "others are not locked");
      // Unlocked: the same session works again.
      assert.deepEqual((await lock(admin, alice.userId, false)).body, { locked: false });
      assert.equal((await whoami(alice)).status, 200);
    });

    it("lets a locked account log out", async () => {
      const carol = await registerUser(hs, "carol");
      assert.equal((await lock(admin, carol.userId, true)).status, 200);
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout", { token: carol.accessToken })).status, 200);
      assertError(await whoami(carol), 401, "M_UNKNOWN_TOKEN");
    });

    it("refuses non-admins before any lookup, and admins for themselves, other admins, remote and unknown users", async () => {
      assertError(await call(hs, "GET", lockPath(alice.userId), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", lockPath("@nobody:test.local"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await lock(bob.accessToken, alice.userId, true), 403, "M_FORBIDDEN");
      assertError(await lock(bob.accessToken, "@nobody:elsewhere.example", true), 403, "M_FORBIDDEN");
      assertError(await lock(admin, "@root:test.local", true), 403, "M_FORBIDDEN");
      assertError(await lock(admin, "@root2:test.local", true), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", lockPath("@root2:test.local"), { token: admin }), 403, "M_FORBIDDEN");
      assertError(await lock(admin, "@someone:elsewhere.example", true), 400, "M_INVALID_PARAM");
      assertError(await lock(admin, "not a user", true), 400, "M_INVALID_PARAM");
      assertError(await lock(admin, "@nobody:test.local", true), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", lockPath(alice.userId), { token: admin, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", lockPath(alice.userId), { token: admin, body: { locked: "yes" } }), 400, "M_BAD_JSON");
      assert.ok(otherAdmin !== undefined);
    });

    it("offers m.account_moderation to admins only", async () => {
      const forAdmin = (await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: admin })).body["capabilities"] as Record<string, unknown>;
      assert.deepEqual(forAdmin["m.account_moderation"], { lock: true, suspend: false });
      const forUser = (await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: bob.accessToken })).body["capabilities"] as Record<string, unknown>;
      assert.equal(forUser["m.account_moderation"], undefined);
    });
  });

  describe(`account locks across a restart [${engine}]`, () => {
    it("keeps the lock", async () => {
      const hs = await startRestartable(engine, ADMIN_YAML);
      try {
        const admin = await registerAdmin(hs.current(), "root");
        const dave = await registerUser(hs.current(), "dave");
        assert.equal((await call(hs.current(), "PUT", lockPath(dave.userId), { token: admin, body: { locked: true } })).status, 200);
        const restarted = await hs.restart();
        assertError(await call(restarted, "GET", "/_matrix/client/v3/account/whoami", { token: dave.accessToken }), 401, "M_USER_LOCKED");
      } finally {
        await hs.stop();
      }
    });
  });
}
