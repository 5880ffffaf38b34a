// Account locking and suspension (client-server-api#account-locking and #account-suspension,
// admin.yaml /v1/admin/lock/{userId} and /v1/admin/suspend/{userId}) over real HTTP on both engines:
// who may look and lock or suspend (admins, not of themselves or of other admins, local accounts
// only, authorisation before any lookup), what a locked account gets (401 M_USER_LOCKED with
// soft_logout everywhere but the logouts, also at login), what a suspended one may and may not do
// (403 M_USER_SUSPENDED), sessions kept for the unlock, both kept across a restart, and the
// m.account_moderation capability for admins.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { startRestartable } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const lockPath = (userId: string) => `/_matrix/client/v1/admin/lock/${encodeURIComponent(userId)}`;
const suspendPath = (userId: string) => `/_matrix/client/v1/admin/suspend/${encodeURIComponent(userId)}`;
/** Each admin API: its path and body field. */
const RESTRICTIONS = [
  { path: lockPath, field: "locked" },
  { path: suspendPath, field: "suspended" },
] as const;

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

    for (const { path, field } of RESTRICTIONS) {
      it(`${path("")}: refuses non-admins before any lookup, and admins for themselves, other admins, remote and unknown users`, async () => {
        const put = (token: string, userId: string) => call(hs, "PUT", path(userId), { token, body: { [field]: true } });
        assertError(await call(hs, "GET", path(alice.userId), { token: bob.accessToken }), 403, "M_FORBIDDEN");
        assertError(await call(hs, "GET", path("@nobody:test.local"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
        assertError(await put(bob.accessToken, alice.userId), 403, "M_FORBIDDEN");
        assertError(await put(bob.accessToken, "@nobody:elsewhere.example"), 403, "M_FORBIDDEN");
        assertError(await put(admin, "@root:test.local"), 403, "M_FORBIDDEN");
        assertError(await put(admin, "@root2:test.local"), 403, "M_FORBIDDEN");
        assertError(await call(hs, "GET", path("@root2:test.local"), { token: admin }), 403, "M_FORBIDDEN");
        assertError(await put(admin, "@someone:elsewhere.example"), 400, "M_INVALID_PARAM");
        assertError(await put(admin, "not a user"), 400, "M_INVALID_PARAM");
        assertError(await put(admin, "@nobody:test.local"), 404, "M_NOT_FOUND");
        assertError(await call(hs, "PUT", path(alice.userId), { token: admin, body: {} }), 400, "M_MISSING_PARAM");
        assertError(await call(hs, "PUT", path(alice.userId), { token: admin, body: { [field]: "yes" } }), 400, "M_BAD_JSON");
        assert.ok(otherAdmin !== undefined);
      });
    }

    it("suspends an account: it may read, log in and log out, not change its profile, until the suspension is lifted", async () => {
      const erin = await registerUser(hs, "erin");
      const suspend = (suspended: boolean) => call(hs, "PUT", suspendPath(erin.userId), { token: admin, body: { suspended } });
      const setName = () => call(hs, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(erin.userId)}/displayname`, { token: erin.accessToken, body: { displayname: "Erin" } });
      assert.deepEqual((await call(hs, "GET", suspendPath(erin.userId), { token: admin })).body, { suspended: false });
      assert.deepEqual((await suspend(true)).body, { suspended: true });
      assert.deepEqual((await call(hs, "GET", suspendPath(erin.userId), { token: admin })).body, { suspended: true });
      assert.equal((await whoami(erin)).status, 200);
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/sync?timeout=0", { token: erin.accessToken })).status, 200);
      assertError(await setName(), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "DELETE", `/_matrix/client/v3/profile/${encodeURIComponent(erin.userId)}/avatar_url`, { token: erin.accessToken }), 403, "M_USER_SUSPENDED");
      const login = await call(hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: "erin" }, password: erin.password },
      });
      assert.equal(login.status, 200, "a suspended account may log in");
      assertError(await call(hs, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(erin.userId)}/displayname`, { token: login.body["access_token"] as string, body: { displayname: "Erin" } }), 403, "M_USER_SUSPENDED");
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Bob" } })).status, 200, "others are not suspended");
      assert.deepEqual((await suspend(false)).body, { suspended: false });
      assert.equal((await setName()).status, 200);
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout", { token: login.body["access_token"] as string })).status, 200);
    });

    it("lets a suspended account read, leave and redact its own events, and nothing else in rooms", async () => {
      const [gina, hal] = await Promise.all([registerUser(hs, "gina"), registerUser(hs, "hal")]);
      const as = (user: TestUser) => ({ token: user.accessToken });
      const room = (await call(hs, "POST", "/_matrix/client/v3/createRoom", { ...as(hal), body: { preset: "public_chat" } })).body["room_id"] as string;
      const other = (await call(hs, "POST", "/_matrix/client/v3/createRoom", { ...as(hal), body: { preset: "public_chat" } })).body["room_id"] as string;
      const r = encodeURIComponent(room);
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${r}`, { ...as(gina), body: {} })).status, 200);
      let txn = 0;
      const send = (user: TestUser, type: string, content: Record<string, unknown>) =>
        call(hs, "PUT", `/_matrix/client/v3/rooms/${r}/send/${type}/t${++txn}`, { ...as(user), body: content });
      const mine = (await send(gina, "m.room.message", { msgtype: "m.text", body: "one" })).body["event_id"] as string;
      const mine2 = (await send(gina, "m.room.message", { msgtype: "m.text", body: "two" })).body["event_id"] as string;
      const theirs = (await send(hal, "m.room.message", { msgtype: "m.text", body: "three" })).body["event_id"] as string;
      assert.equal((await call(hs, "PUT", suspendPath(gina.userId), { token: admin, body: { suspended: true } })).status, 200);

      assertError(await send(gina, "m.room.message", { msgtype: "m.text", body: "four" }), 403, "M_USER_SUSPENDED");
      assertError(await send(gina, "m.room.redaction", { redacts: theirs }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "PUT", `/_matrix/client/v3/rooms/${r}/redact/${encodeURIComponent(theirs)}/t${++txn}`, { ...as(gina), body: {} }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "PUT", `/_matrix/client/v3/rooms/${r}/state/m.room.topic`, { ...as(gina), body: { topic: "x" } }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "POST", "/_matrix/client/v3/createRoom", { ...as(gina), body: {} }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "POST", `/_matrix/client/v3/join/${encodeURIComponent(other)}`, { ...as(gina), body: {} }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(other)}/join`, { ...as(gina), body: {} }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "POST", `/_matrix/client/v3/knock/${encodeURIComponent(other)}`, { ...as(gina), body: {} }), 403, "M_USER_SUSPENDED");
      assertError(await call(hs, "POST", `/_matrix/client/v3/rooms/${r}/invite`, { ...as(gina), body: { user_id: bob.userId } }), 403, "M_USER_SUSPENDED");

      assert.equal((await call(hs, "GET", `/_matrix/client/v3/rooms/${r}/messages?dir=b`, as(gina))).status, 200);
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/rooms/${r}/redact/${encodeURIComponent(mine)}/t${++txn}`, { ...as(gina), body: {} })).status, 200);
      assert.equal((await send(gina, "m.room.redaction", { redacts: mine2 })).status, 200);
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/rooms/${r}/leave`, { ...as(gina), body: {} })).status, 200);
    });

    it("offers m.account_moderation to admins only", async () => {
      const forAdmin = (await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: admin })).body["capabilities"] as Record<string, unknown>;
      assert.deepEqual(forAdmin["m.account_moderation"], { lock: true, suspend: true });
      const forUser = (await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: bob.accessToken })).body["capabilities"] as Record<string, unknown>;
      assert.equal(forUser["m.account_moderation"], undefined);
    });
  });

  describe(`account locks and suspensions across a restart [${engine}]`, () => {
    it("keeps the lock and the suspension", async () => {
      const hs = await startRestartable(engine, ADMIN_YAML);
      try {
        const admin = await registerAdmin(hs.current(), "root");
        const [dave, frank] = await Promise.all([registerUser(hs.current(), "dave"), registerUser(hs.current(), "frank")]);
        assert.equal((await call(hs.current(), "PUT", lockPath(dave.userId), { token: admin, body: { locked: true } })).status, 200);
        assert.equal((await call(hs.current(), "PUT", suspendPath(frank.userId), { token: admin, body: { suspended: true } })).status, 200);
        const restarted = await hs.restart();
        assertError(await call(restarted, "GET", "/_matrix/client/v3/account/whoami", { token: dave.accessToken }), 401, "M_USER_LOCKED");
        assertError(
          await call(restarted, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(frank.userId)}/displayname`, { token: frank.accessToken, body: { displayname: "F" } }),
          403,
          "M_USER_SUSPENDED",
        );
        assert.deepEqual((await call(restarted, "GET", suspendPath(frank.userId), { token: admin })).body, { suspended: true });
      } finally {
        await hs.stop();
      }
    });
  });
}
