// Conformance audit of the room event endpoints against the v1.19 spec: one test per discrepancy
// found, each failing without its fix.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  get,
  getOk,
  registerUser,
  relatesTo,
  relationsOf,
  roomPath,
  send,
  setMembership,
  settled,
  startEventsHomeserver,
  text,
  type TestUser,
} from "./helpers.ts";


for (const engine of engines) {
  describe(`room event endpoints, spec audit [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startEventsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("refuses an m.room.redaction sent without content.redacts in a v11 room, as in older ones", async () => {
      const roomId = await createRoom(hs, alice, { roomVersion: "11" });
      // m.room.redaction.yaml: content.redacts is "Required for, and present starting in, room version 11".
      const missing = await call(hs, "PUT", roomPath(roomId, "/send/m.room.redaction/no-redacts"), { token: alice.accessToken, body: { reason: "x" } });
      assertError(missing, 400, "M_BAD_JSON");
      const notAnId = await call(hs, "PUT", roomPath(roomId, "/send/m.room.redaction/bad-redacts"), { token: alice.accessToken, body: { redacts: 3 } });
      assertError(notAnId, 400, "M_BAD_JSON");
      // With it, the redaction is sent and applies.
      const target = await send(hs, alice, roomId, text("gone soon"));
      const ok = await call(hs, "PUT", roomPath(roomId, "/send/m.room.redaction/good-redacts"), { token: alice.accessToken, body: { redacts: target } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      await settled(hs);
      assert.deepEqual((await getOk(hs, alice, roomPath(roomId, `/event/${enc(target)}`)))["content"], {});
    });

    it("refuses to redact, from one room, an event of another room, one's own included", async () => {
      const here = await createRoom(hs, alice);
      const there = await createRoom(hs, alice);
      const own = await send(hs, alice, there, text("mine, elsewhere"));
      // redaction.yaml: roomId is "The room from which to redact the event".
      const viaRedact = await call(hs, "PUT", roomPath(here, `/redact/${enc(own)}/cross-room`), { token: alice.accessToken, body: {} });
      assertError(viaRedact, 400, "M_INVALID_PARAM");
      const viaSend = await call(hs, "PUT", roomPath(here, "/send/m.room.redaction/cross-room"), { token: alice.accessToken, body: { redacts: own } });
      assertError(viaSend, 400, "M_INVALID_PARAM");
    });

    it("refuses to redact what is not an event ID", async () => {
      const roomId = await createRoom(hs, alice);
      // redaction.yaml: eventId is an mx-event-id, pattern "^\$".
      assertError(await call(hs, "PUT", roomPath(roomId, "/redact/not-an-event-id/bad-id"), { token: alice.accessToken, body: {} }), 400, "M_INVALID_PARAM");
    });

    it("bundles the latest edit of an encrypted event, whose m.new_content is in the ciphertext", async () => {
      const roomId = await createRoom(hs, alice);
      const encrypted = (ciphertext: string, extra: JsonObject = {}): JsonObject => ({
        algorithm: "m.megolm.v1.aes-sha2",
        ciphertext,
        device_id: alice.deviceId,
        sender_key: "sender-key",
        session_id: "session",
        ...extra,
      });
      const original = await send(hs, alice, roomId, encrypted("original"), "m.room.encrypted");
      const edit = await send(hs, alice, roomId, encrypted("edit", relatesTo("m.replace", original)), "m.room.encrypted");
      await settled(hs);
      // modules/event_replacements.md: the replacement "(once decrypted, if appropriate) must have an m.new_content property".
      const bundled = relationsOf(await getOk(hs, alice, roomPath(roomId, `/event/${enc(original)}`)))?.["m.replace"];
      assert.equal(bundled?.["event_id"], edit);
    });

    it("lists a thread whose root was sent by an ignored user with the root redacted", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      const root = await send(hs, bob, roomId, text("bob's root"));
      await send(hs, alice, roomId, text("alice's reply", relatesTo("m.thread", root)));
      const ignore = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.ignored_user_list`, {
        token: alice.accessToken,
        body: { ignored_users: { [bob.userId]: {} } },
      });
      assert.equal(ignore.status, 200);
      await settled(hs);
      // threads_list.yaml: "If the thread root event was sent by an ignored user, the event is returned redacted to the caller."
      const chunk = (await getOk(hs, alice, roomPath(roomId, "/threads", "v1")))["chunk"] as Array<Record<string, unknown>>;
      assert.equal(chunk.length, 1);
      assert.equal(chunk[0]?.["event_id"], root);
      assert.deepEqual(chunk[0]?.["content"], {});
      // Still with its thread's aggregation.
      assert.equal(relationsOf(chunk[0] as Record<string, unknown>)?.["m.thread"]?.["count"], 1);
      // Bob, who ignores no one, sees his root whole.
      const bobs = (await getOk(hs, bob, roomPath(roomId, "/threads", "v1")))["chunk"] as Array<Record<string, unknown>>;
      assert.deepEqual(bobs[0]?.["content"], text("bob's root"));
    });

    it("refuses /context to a user with no part in the room with 403, and keeps 404 for an unknown event", async () => {
      const roomId = await createRoom(hs, alice);
      const eventId = await send(hs, alice, roomId, text("members only"));
      // sytest 30rooms/50context "/context/ on non world readable room does not work": 403.
      assertError(await get(hs, bob, roomPath(roomId, `/context/${enc(eventId)}`)), 403, "M_FORBIDDEN");
      assertError(await get(hs, alice, roomPath(roomId, `/context/${enc("$unknown")}`)), 404, "M_NOT_FOUND");
    });

    it("refuses history to a former member once they forgot the room", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      const eventId = await send(hs, alice, roomId, text("before bob left"));
      await setMembership(hs, roomId, bob, "leave");
      assert.equal((await get(hs, bob, roomPath(roomId, "/messages?dir=b"))).status, 200);
      assert.equal((await get(hs, bob, roomPath(roomId, `/event/${enc(eventId)}`))).status, 200);
      assert.equal((await get(hs, bob, roomPath(roomId, `/relations/${enc(eventId)}`, "v1"))).status, 200);
      const forget = await call(hs, "POST", roomPath(roomId, "/forget"), { token: bob.accessToken, body: {} });
      assert.equal(forget.status, 200, JSON.stringify(forget.body));
      // leaving.yaml /forget: "After this API is called, however, a user will no longer be able to retrieve history for this room."
      assertError(await get(hs, bob, roomPath(roomId, "/messages")), 403, "M_FORBIDDEN");
      assertError(await get(hs, bob, roomPath(roomId, "/messages?dir=b")), 403, "M_FORBIDDEN");
      assertError(await get(hs, bob, roomPath(roomId, `/context/${enc(eventId)}`)), 403, "M_FORBIDDEN");
      assertError(await get(hs, bob, roomPath(roomId, "/state")), 403, "M_FORBIDDEN");
      assertError(await get(hs, bob, roomPath(roomId, "/members")), 403, "M_FORBIDDEN");
      // rooms.yaml GET /event and relations.yaml: 404, "not found or you do not have permission to read this event".
      assertError(await get(hs, bob, roomPath(roomId, `/event/${enc(eventId)}`)), 404, "M_NOT_FOUND");
      assertError(await get(hs, bob, roomPath(roomId, `/relations/${enc(eventId)}`, "v1")), 404, "M_NOT_FOUND");
      assertError(await get(hs, bob, roomPath(roomId, "/threads", "v1")), 403, "M_FORBIDDEN");
      // Joining again gives the history back.
      await setMembership(hs, roomId, bob, "join");
      assert.equal((await get(hs, bob, roomPath(roomId, "/messages?dir=b"))).status, 200);
    });
  });
}
