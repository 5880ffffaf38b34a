import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ReportStore, type StoredReport } from "../../../../src/storage/stores/reports.ts";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  EVENTS_YAML,
  registerGuest,
  registerUser,
  roomPath,
  send,
  setMembership,
  startEventsHomeserver,
  text,
  type Reply,
  type TestUser,
} from "../../events/helpers.ts";

for (const engine of engines) {
  describe(`reporting content [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let store: ReportStore;
    before(async () => {
      hs = await startEventsHomeserver(engine, `${EVENTS_YAML}\nallow_guest_access: true`);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      carol = await registerUser(hs, "carol");
      store = new ReportStore(hs.server.services.db);
    });
    after(() => hs.stop());

    const reportEvent = (user: TestUser | undefined, roomId: string, eventId: string, body: unknown = { reason: "spam" }, version = "v3"): Promise<Reply> =>
      call(hs, "POST", roomPath(roomId, `/report/${enc(eventId)}`, version), { token: user?.accessToken, body });
    const reportRoom = (user: TestUser | undefined, roomId: string, body: unknown = { reason: "bad room" }, version = "v3"): Promise<Reply> =>
      call(hs, "POST", roomPath(roomId, "/report", version), { token: user?.accessToken, body });
    const reportUser = (user: TestUser | undefined, userId: string, body: unknown = { reason: "bad user" }, version = "v3"): Promise<Reply> =>
      call(hs, "POST", `/_matrix/client/${version}/users/${enc(userId)}/report`, { token: user?.accessToken, body });
    /** The reports made by `reporter`, oldest first. */
    const reportsBy = async (reporter: TestUser): Promise<StoredReport[]> =>
      (await store.list({ limit: 1000 })).filter((r) => r.reporterUserId === reporter.userId).reverse();

    describe("POST /rooms/{roomId}/report/{eventId}", () => {
      let roomId: string;
      let otherRoomId: string;
      let beforeJoin: string;
      let afterJoin: string;
      let otherEvent: string;
      before(async () => {
        // "joined" history: bob, joining later, cannot see what came before his join.
        roomId = await createRoom(hs, alice, { historyVisibility: "joined" });
        beforeJoin = await send(hs, alice, roomId, text("before bob joined"));
        otherRoomId = await createRoom(hs, alice);
        otherEvent = await send(hs, alice, otherRoomId, text("in another room"));
      });

      it("takes a report from a joined member who can see the event, and stores it for admins", async () => {
        await setMembership(hs, roomId, bob, "join");
        afterJoin = await send(hs, alice, roomId, text("offensive"));
        const reply = await reportEvent(bob, roomId, afterJoin, { reason: "this makes me sad" });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        // report_content.yaml: 200 with an empty object.
        assert.deepEqual(reply.body, {});
        const [stored] = await reportsBy(bob);
        assert.ok(stored !== undefined);
        assert.equal(stored.kind, "event");
        assert.equal(stored.roomId, roomId);
        assert.equal(stored.eventId, afterJoin);
        assert.equal(stored.targetUserId, alice.userId);
        assert.equal(stored.reason, "this makes me sad");
        assert.ok(Math.abs(stored.receivedTs - Date.now()) < 60_000);
      });

      it("takes a report with no reason, and ignores the `score` removed in v1.18", async () => {
        // report_content.yaml reportEvent: `reason` is optional; `score` was removed in v1.18.
        assert.equal((await reportEvent(bob, roomId, afterJoin, {})).status, 200);
        assert.equal((await reportEvent(bob, roomId, afterJoin, { reason: "old client", score: -100 })).status, 200);
        // The r0 path: the endpoint predates v1.1.
        assert.equal((await reportEvent(bob, roomId, afterJoin, { reason: "r0" }, "r0")).status, 200);
        const reasons = (await reportsBy(bob)).map((r) => r.reason);
        assert.deepEqual(reasons.slice(-3), [undefined, "old client", "r0"]);
      });

      it("answers 404 M_NOT_FOUND, the same answer every time, when the reporter may not see the event", async () => {
        const count = (await reportsBy(bob)).length;
        const replies = [
          // The event is hidden from bob by the room's history visibility (before his join, "joined").
          await reportEvent(bob, roomId, beforeJoin),
          // No such event.
          await reportEvent(bob, roomId, "$nosuchevent:test.local"),
          await reportEvent(bob, roomId, "not an event id"),
          // An event of another room, reported in this one.
          await reportEvent(bob, roomId, otherEvent),
          // No such room.
          await reportEvent(bob, "!nosuchroom:test.local", afterJoin),
          // modules/report_content.md (changed in v1.8): the reporter MUST be joined; carol never was.
          await reportEvent(carol, roomId, afterJoin),
          // carol may not see the other room's event either (not joined; shared history).
          await reportEvent(carol, otherRoomId, otherEvent),
        ];
        // report_content.yaml: 404 "The event was not found or you are not joined to the room", with
        // nothing telling these cases apart.
        for (const reply of replies) assertError(reply, 404, "M_NOT_FOUND");
        assert.equal(new Set(replies.map((r) => JSON.stringify(r.body))).size, 1);
        assert.equal((await reportsBy(bob)).length, count);
        assert.deepEqual(await reportsBy(carol), []);
      });

      it("refuses a former member (the reporter must be joined now, not before)", async () => {
        await setMembership(hs, roomId, bob, "leave");
        // modules/report_content.md (changed in v1.8): "currently joined to the room".
        assertError(await reportEvent(bob, roomId, afterJoin), 404, "M_NOT_FOUND");
        await setMembership(hs, roomId, bob, "join");
        assert.equal((await reportEvent(bob, roomId, afterJoin)).status, 200);
      });

      it("takes a report of a redacted event (report_content.yaml lets servers refuse it; Weft does not)", async () => {
        const redacted = await send(hs, alice, roomId, text("soon gone"));
        const redaction = await call(hs, "PUT", roomPath(roomId, `/redact/${enc(redacted)}/r1`), { token: alice.accessToken, body: {} });
        assert.equal(redaction.status, 200, JSON.stringify(redaction.body));
        assert.equal((await reportEvent(bob, roomId, redacted, { reason: "was abusive" })).status, 200);
        assert.equal((await reportsBy(bob)).at(-1)?.eventId, redacted);
      });

      it("refuses bad requests", async () => {
        // report_content.yaml reportEvent: `reason` is a string.
        assertError(await reportEvent(bob, roomId, afterJoin, { reason: 5 }), 400, "M_BAD_JSON");
        assertError(await call(hs, "POST", roomPath(roomId, `/report/${enc(afterJoin)}`), { token: bob.accessToken, rawBody: "[]" }), 400, "M_BAD_JSON");
        assertError(await reportEvent(bob, "not-a-room", afterJoin), 400, "M_INVALID_PARAM");
        // report_content.yaml security: an access token.
        assertError(await reportEvent(undefined, roomId, afterJoin), 401, "M_MISSING_TOKEN");
        // modules/guest_access.md: reporting is not among the endpoints guests may call.
        const guest = await registerGuest(hs);
        assertError(await reportEvent(guest, roomId, afterJoin), 403, "M_GUEST_ACCESS_FORBIDDEN");
      });
    });

    describe("POST /rooms/{roomId}/report (v1.13)", () => {
      it("takes a report from a user who is not in the room (servers MUST NOT require membership)", async () => {
        const roomId = await createRoom(hs, alice);
        // modules/report_content.md (added in v1.13): room reports MUST NOT be restricted to members.
        const reply = await reportRoom(carol, roomId, { reason: "found it in the directory" });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(reply.body, {});
        const stored = (await reportsBy(carol)).at(-1);
        assert.equal(stored?.kind, "room");
        assert.equal(stored.roomId, roomId);
        assert.equal(stored.eventId, undefined);
        assert.equal(stored.targetUserId, undefined);
        assert.equal(stored.reason, "found it in the directory");
      });

      it("answers 200 for a room not known here too, and keeps the report (v1.18: servers MAY hide whether a room exists)", async () => {
        // report_content.yaml (changed in v1.18): 200 regardless of the room's existence prevents enumeration;
        // a room known only through an invite or another server's directory is reportable too.
        const reply = await reportRoom(carol, "!elsewhere:remote.example", { reason: "" });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const stored = (await reportsBy(carol)).at(-1);
        assert.equal(stored?.roomId, "!elsewhere:remote.example");
        // "May be blank".
        assert.equal(stored.reason, "");
      });

      it("refuses bad requests", async () => {
        const roomId = await createRoom(hs, alice);
        // report_content.yaml reportRoom: `reason` is required.
        assertError(await reportRoom(carol, roomId, {}), 400, "M_MISSING_PARAM");
        assertError(await reportRoom(carol, roomId, { reason: null }), 400, "M_BAD_JSON");
        assertError(await reportRoom(carol, "not-a-room"), 400, "M_INVALID_PARAM");
        assertError(await reportRoom(undefined, roomId), 401, "M_MISSING_TOKEN");
        // Added in v1.13: served under v3 only.
        assertError(await reportRoom(carol, roomId, { reason: "x" }, "r0"), 404, "M_UNRECOGNIZED");
      });
    });

    describe("POST /users/{userId}/report (v1.14)", () => {
      it("takes a report of a local user who shares no room with the reporter (servers MUST NOT require one)", async () => {
        const dave = await registerUser(hs, "dave");
        // modules/report_content.md (added in v1.14): user reports MUST NOT be restricted to users sharing rooms.
        const reply = await reportUser(carol, dave.userId, { reason: "spam invites" });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(reply.body, {});
        const stored = (await reportsBy(carol)).at(-1);
        assert.equal(stored?.kind, "user");
        assert.equal(stored.targetUserId, dave.userId);
        assert.equal(stored.roomId, undefined);
        assert.equal(stored.reason, "spam invites");
      });

      it("takes a report of another server's user, which cannot be checked from here", async () => {
        assert.equal((await reportUser(carol, "@troll:remote.example")).status, 200);
        assert.equal((await reportsBy(carol)).at(-1)?.targetUserId, "@troll:remote.example");
      });

      it("answers 200 for a local user who does not exist, storing nothing (report_content.yaml: servers MAY hide whether a user exists)", async () => {
        const count = (await reportsBy(carol)).length;
        const reply = await reportUser(carol, "@nobody:test.local");
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal((await reportsBy(carol)).length, count);
      });

      it("refuses bad requests", async () => {
        // report_content.yaml reportUser: `reason` is required; the user ID is an mx-user-id.
        assertError(await reportUser(carol, alice.userId, {}), 400, "M_MISSING_PARAM");
        assertError(await reportUser(carol, "alice"), 400, "M_INVALID_PARAM");
        assertError(await reportUser(undefined, alice.userId), 401, "M_MISSING_TOKEN");
        const guest = await registerGuest(hs);
        assertError(await reportUser(guest, alice.userId), 403, "M_GUEST_ACCESS_FORBIDDEN");
        // Added in v1.14: served under v3 only.
        assertError(await reportUser(carol, alice.userId, { reason: "x" }, "r0"), 404, "M_UNRECOGNIZED");
      });
    });

    describe("ReportStore", () => {
      it("lists reports newest first, by page, and about one room or one user", async () => {
        const all = await store.list({ limit: 1000 });
        assert.ok(all.length >= 3);
        for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.id > all[i]!.id);
        const page = await store.list({ limit: 2 });
        const next = await store.list({ before: page.at(-1)!.id, limit: 2 });
        assert.deepEqual([...page, ...next].map((r) => r.id), all.slice(0, 4).map((r) => r.id));
        const aboutAlice = await store.list({ targetUserId: alice.userId, limit: 1000 });
        assert.ok(aboutAlice.length > 0 && aboutAlice.every((r) => r.targetUserId === alice.userId));
        const aboutRoom = await store.list({ roomId: "!elsewhere:remote.example", limit: 1000 });
        assert.deepEqual(aboutRoom.map((r) => r.kind), ["room"]);
      });
    });
  });
}
