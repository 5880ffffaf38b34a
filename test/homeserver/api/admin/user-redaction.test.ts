// Synapse's admin API for redacting a user's events (POST /_synapse/admin/v1/user/{userId}/redact,
// GET .../user/redact_status/{redactId}) over real HTTP on both engines: a spammer's messages and
// own member events redacted in every room they were in, or in the rooms named, within the limit
// and the time range; others' events and the rooms' settings left alone; a user no longer in a room
// cannot redact as themself, the admin can; a job cut short runs again at the next start; server
// admins only, and the errors of bad requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AdminRedactionStore } from "../../../../src/storage/stores/admin-redactions.ts";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, roomPath, send, startRestartable, text, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const redactPath = (userId: string): string => `/_synapse/admin/v1/user/${enc(userId)}/redact`;
const statusPath = (redactId: string): string => `/_synapse/admin/v1/user/redact_status/${enc(redactId)}`;

for (const engine of engines) {
  describe(`admin user redaction [${engine}]`, () => {
    let server: Awaited<ReturnType<typeof startRestartable>>;
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let mallory: TestUser;
    let roomA: string;
    let roomB: string;

    before(async () => {
      server = await startRestartable(engine, `${ADMIN_YAML}\nrc_message: {per_second: 10000, burst_count: 10000}`);
      hs = server.current();
      admin = await registerAdmin(hs, "root");
      [alice, bob, mallory] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "mallory")]);
      roomA = await createRoom(alice, { name: "Room A" });
      roomB = await createRoom(alice, {});
      for (const roomId of [roomA, roomB]) for (const user of [bob, mallory]) await join(user, roomId);
    });
    after(() => server.stop());

    async function createRoom(creator: TestUser | string, body: Record<string, unknown>): Promise<string> {
      const token = typeof creator === "string" ? creator : creator.accessToken;
      const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token, body: { preset: "public_chat", ...body } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body["room_id"] as string;
    }
    async function join(user: TestUser, roomId: string): Promise<void> {
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: user.accessToken, body: {} })).status, 200);
    }
    /** Starts a job and waits for its end; its status. */
    async function redactAndWait(userId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
      const started = await call(hs, "POST", redactPath(userId), { token: admin, body });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const redactId = started.body["redact_id"] as string;
      assert.equal(typeof redactId, "string");
      return await waitFor(redactId);
    }
    async function waitFor(redactId: string): Promise<Record<string, unknown>> {
      for (;;) {
        const status = await call(hs, "GET", statusPath(redactId), { token: admin });
        assert.equal(status.status, 200, JSON.stringify(status.body));
        if (status.body["status"] === "completed" || status.body["status"] === "failed") return status.body;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    async function isRedacted(roomId: string, eventId: string, token = alice.accessToken): Promise<boolean> {
      const reply = await call(hs, "GET", roomPath(roomId, `/event/${enc(eventId)}`), { token });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return (reply.body["unsigned"] as Record<string, unknown> | undefined)?.["redacted_because"] !== undefined;
    }
    async function memberEventOf(roomId: string, userId: string): Promise<string> {
      const state = (await call(hs, "GET", roomPath(roomId, "/state"), { token: alice.accessToken })).body as unknown as Array<Record<string, unknown>>;
      return state.find((e) => e["type"] === "m.room.member" && e["state_key"] === userId)?.["event_id"] as string;
    }

    it("redacts the user's messages and member events in every room they are in, and nothing else", async () => {
      const spam = [await send(hs, mallory, roomA, text("spam 1")), await send(hs, mallory, roomA, text("spam 2")), await send(hs, mallory, roomB, text("spam 3"))];
      const fine = await send(hs, bob, roomA, text("hello"));
      const membership = await memberEventOf(roomA, mallory.userId);
      const status = await redactAndWait(mallory.userId, { rooms: [], reason: "spam" });
      assert.deepEqual(status, { status: "completed", failed_redactions: {} });
      for (const [roomId, eventId] of [[roomA, spam[0]], [roomA, spam[1]], [roomB, spam[2]], [roomA, membership]] as const) {
        assert.equal(await isRedacted(roomId, eventId as string), true, eventId);
      }
      assert.equal(await isRedacted(roomA, fine), false);
      // The redactions carry the reason, and were sent by mallory's own account.
      const event = (await call(hs, "GET", roomPath(roomA, `/event/${enc(spam[0] as string)}`), { token: alice.accessToken })).body;
      const because = (event["unsigned"] as Record<string, Record<string, unknown>>)["redacted_because"] as Record<string, unknown>;
      assert.equal(because["sender"], mallory.userId);
      assert.equal((because["content"] as Record<string, unknown>)["reason"], "spam");
      // The room's settings stand.
      const name = await call(hs, "GET", roomPath(roomA, "/state/m.room.name/"), { token: alice.accessToken });
      assert.deepEqual(name.body, { name: "Room A" });
      // Run again: nothing left to redact, nothing failed.
      assert.deepEqual(await redactAndWait(mallory.userId, { rooms: [roomA, roomB] }), { status: "completed", failed_redactions: {} });
    });

    it("keeps to the rooms named, the limit and the time range", async () => {
      const inA = [await send(hs, mallory, roomA, text("a1")), await send(hs, mallory, roomA, text("a2")), await send(hs, mallory, roomA, text("a3"))];
      const inB = await send(hs, mallory, roomB, text("b1"));
      // The latest two of room A only.
      await redactAndWait(mallory.userId, { rooms: [roomA], limit: 2 });
      assert.deepEqual(await Promise.all(inA.map((id) => isRedacted(roomA, id))), [false, true, true]);
      assert.equal(await isRedacted(roomB, inB), false);
      // Sent after a time that is past: all; before a time long gone: none.
      await redactAndWait(mallory.userId, { rooms: [roomB], before_ts: 1000 });
      assert.equal(await isRedacted(roomB, inB), false);
      await redactAndWait(mallory.userId, { rooms: [roomA, roomB], after_ts: 1000 });
      assert.equal(await isRedacted(roomA, inA[0] as string), true);
      assert.equal(await isRedacted(roomB, inB), true);
    });

    it("cannot redact as a user who left the room; the admin can, with the power to", async () => {
      const moderated = await createRoom(admin, {});
      await join(mallory, moderated);
      const spam = await send(hs, mallory, moderated, text("spam"));
      assert.equal((await call(hs, "POST", roomPath(moderated, "/ban"), { token: admin, body: { user_id: mallory.userId } })).status, 200);
      const asUser = await redactAndWait(mallory.userId, { rooms: [moderated] });
      assert.equal(asUser["status"], "completed");
      assert.match((asUser["failed_redactions"] as Record<string, string>)[spam] ?? "", /M_FORBIDDEN/);
      assert.equal(await isRedacted(moderated, spam, admin), false);
      const asAdmin = await redactAndWait(mallory.userId, { rooms: [moderated], use_admin: true });
      assert.deepEqual(asAdmin["failed_redactions"], {});
      assert.equal(await isRedacted(moderated, spam, admin), true);
    });

    it("runs again at start a job that a stop cut short", async () => {
      const spam = await send(hs, mallory, roomB, text("before the crash"));
      // A job stored as running when the process went away, as a kill leaves it.
      await new AdminRedactionStore(hs.server.services.db).add({
        redactId: "resumed-job",
        userId: mallory.userId,
        adminUserId: "@root:test.local",
        request: { rooms: [roomB], reason: undefined, limit: 1000, useAdmin: false, afterTs: undefined, beforeTs: undefined },
        createdTs: Date.now(),
      });
      hs = await server.restart();
      assert.deepEqual(await waitFor("resumed-job"), { status: "completed", failed_redactions: {} });
      assert.equal(await isRedacted(roomB, spam), true);
    });

    it("answers only server admins, and refuses bad requests", async () => {
      assertError(await call(hs, "POST", redactPath(mallory.userId), { token: bob.accessToken, body: { rooms: [] } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", statusPath("resumed-job"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", redactPath(mallory.userId), { body: { rooms: [] } }), 401, "M_MISSING_TOKEN");
      assertError(await call(hs, "POST", redactPath("mallory"), { token: admin, body: { rooms: [] } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "POST", redactPath(mallory.userId), { token: admin, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", redactPath(mallory.userId), { token: admin, body: { rooms: ["#alias:test.local"] } }), 400, "M_INVALID_PARAM");
      for (const bad of [{ rooms: "all" }, { rooms: [], limit: 0 }, { rooms: [], use_admin: "yes" }, { rooms: [], after_ts: -1 }]) {
        assertError(await call(hs, "POST", redactPath(mallory.userId), { token: admin, body: bad }), 400, "M_BAD_JSON");
      }
      assertError(await call(hs, "GET", statusPath("no-such-job"), { token: admin }), 404, "M_NOT_FOUND");
    });
  });
}
