/**
 * The ephemeral APIs against the spec, as a conformance suite or a client would exercise them, on
 * both engines: the cases the audit found wrong.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import { SYNC_YAML, createRoom, join, joinedRoom, receiptOf, send, sendText, sync, type Json } from "./helpers.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`ephemeral APIs audit [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let roomId: string;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
      roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
    });
    after(() => hs.stop());

    const receipt = (type: string, eventId: string, body: Json = {}) =>
      call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, { token: bob.accessToken, body });

    it("takes a threaded receipt on an event related to an event in the thread, in that thread", async () => {
      const root = await sendText(hs, alice, roomId, "root");
      const inThread = await send(hs, alice, roomId, { msgtype: "m.text", body: "in thread", "m.relates_to": { rel_type: "m.thread", event_id: root } });
      const reaction = await send(hs, alice, roomId, { "m.relates_to": { rel_type: "m.annotation", event_id: inThread, key: "👍" } }, "m.reaction");
      const edit = await send(hs, alice, roomId, {
        msgtype: "m.text",
        body: "* edited",
        "m.new_content": { msgtype: "m.text", body: "edited" },
        "m.relates_to": { rel_type: "m.replace", event_id: inThread },
      });
      const onRoot = await send(hs, alice, roomId, { "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "👀" } }, "m.reaction");
      // modules/receipts.md#threaded-read-receipts: an event is in a thread if, "following the event relationships", a parent has an m.thread relation.
      assert.equal((await receipt("m.read", reaction, { thread_id: root })).status, 200);
      assert.equal((await receipt("m.read.private", edit, { thread_id: root })).status, 200);
      assertError(await receipt("m.read", reaction, { thread_id: "main" }), 400, "M_INVALID_PARAM");
      // "Thread roots are considered to be in the main timeline, as are events that are related to a thread root via non-thread relations."
      assert.equal((await receipt("m.read", onRoot, { thread_id: "main" })).status, 200);
      assertError(await receipt("m.read", onRoot, { thread_id: root }), 400, "M_INVALID_PARAM");
      const own = receiptOf(joinedRoom(await sync(hs, bob), roomId));
      assert.deepEqual(((own?.[edit] as Json)["m.read.private"] as Json)[bob.userId], { ts: (((own?.[edit] as Json)["m.read.private"] as Json)[bob.userId] as Json)["ts"], thread_id: root });
    });

    it("counts call invites and not stickers in unread_notifications, as the default push rules do", async () => {
      const room = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, room);
      await send(hs, alice, room, { body: "a sticker", url: "mxc://test.local/sticker", info: {} }, "m.sticker");
      // modules/push.md: no default rule notifies for m.sticker; .m.rule.call notifies for m.call.invite.
      assert.deepEqual(joinedRoom(await sync(hs, bob), room)?.["unread_notifications"], { notification_count: 0, highlight_count: 0 });
      await send(hs, alice, room, { call_id: "c1", version: "1", lifetime: 60000, offer: { type: "offer", sdp: "v=0" } }, "m.call.invite");
      assert.deepEqual(joinedRoom(await sync(hs, bob), room)?.["unread_notifications"], { notification_count: 1, highlight_count: 0 });
    });

    it("shows the unthreaded receipt when a user's unthreaded and threaded receipts are on the same event", async () => {
      const event = await sendText(hs, alice, roomId, "read twice");
      assert.equal((await receipt("m.read", event)).status, 200);
      assert.equal((await receipt("m.read", event, { thread_id: "main" })).status, 200);
      // modules/receipts.md: receipts are kept per (user, type, unthreaded or thread_id); an m.receipt event holds one per (event, type, user).
      const seen = receiptOf(joinedRoom(await sync(hs, alice), roomId));
      const mine = ((seen?.[event] as Json)["m.read"] as Json)[bob.userId] as Json;
      assert.equal(mine["thread_id"], undefined, "the unthreaded receipt covers the main timeline's too");
    });
  });
}
