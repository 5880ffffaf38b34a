/**
 * The ephemeral APIs and what /sync shows of them, on both engines: typing, receipts (private and
 * threaded), read markers, unread counts, presence (and its switch), to-device messages.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import { SYNC_YAML, createRoom, ephemeralOf, invite, join, joinedRoom, leave, receiptOf, send, sendText, sync, syncUntil, type Json } from "./helpers.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`ephemeral APIs and their sync [${engine}]`, () => {
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

    it("shows who is typing, and when they stop", async () => {
      const start = await sync(hs, bob);
      const path = `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`;
      assert.equal((await call(hs, "PUT", path, { token: alice.accessToken, body: { typing: true, timeout: 30000 } })).status, 200);
      const typing = await syncUntil(hs, bob, start["next_batch"] as string, (r) => ephemeralOf(joinedRoom(r, roomId)).some((e) => e["type"] === "m.typing"));
      assert.deepEqual(ephemeralOf(joinedRoom(typing, roomId)).find((e) => e["type"] === "m.typing"), { type: "m.typing", content: { user_ids: [alice.userId] } });
      await call(hs, "PUT", path, { token: alice.accessToken, body: { typing: false } });
      const stopped = await syncUntil(hs, bob, typing["next_batch"] as string, (r) => ephemeralOf(joinedRoom(r, roomId)).some((e) => e["type"] === "m.typing"));
      assert.deepEqual(ephemeralOf(joinedRoom(stopped, roomId)).find((e) => e["type"] === "m.typing"), { type: "m.typing", content: { user_ids: [] } });

      assertError(await call(hs, "PUT", path, { token: bob.accessToken, body: { typing: true } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      const outsider = await registerUser(hs, "outsider");
      assertError(
        await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(outsider.userId)}`, { token: outsider.accessToken, body: { typing: true } }),
        403,
        "M_FORBIDDEN",
      );
    });

    it("ends the typing of a member who leaves, not only when its timeout runs out", async () => {
      const carol = await registerUser(hs, "carol-typist");
      await invite(hs, alice, roomId, carol.userId);
      await join(hs, carol, roomId);
      const start = await sync(hs, bob);
      const path = `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(carol.userId)}`;
      assert.equal((await call(hs, "PUT", path, { token: carol.accessToken, body: { typing: true, timeout: 120000 } })).status, 200);
      const typingOf = (r: Json): Json | undefined => ephemeralOf(joinedRoom(r, roomId)).find((e) => e["type"] === "m.typing");
      const typing = await syncUntil(hs, bob, start["next_batch"] as string, (r) => typingOf(r) !== undefined);
      assert.deepEqual(typingOf(typing)?.["content"], { user_ids: [carol.userId] });
      await leave(hs, carol, roomId);
      const left = await syncUntil(hs, bob, typing["next_batch"] as string, (r) => typingOf(r) !== undefined);
      assert.deepEqual(typingOf(left)?.["content"], { user_ids: [] });
    });

    it("sends read receipts to the room, private ones to their user only, and counts unread messages", async () => {
      const start = await sync(hs, bob);
      const first = await sendText(hs, alice, roomId, "one");
      const second = await sendText(hs, alice, roomId, "two");
      const counted = await syncUntil(hs, bob, start["next_batch"] as string, (r) => joinedRoom(r, roomId) !== undefined);
      assert.deepEqual(joinedRoom(await sync(hs, bob), roomId)?.["unread_notifications"], { notification_count: 2, highlight_count: 0 });

      const receipt = (type: string, eventId: string, body: Json = {}) =>
        call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, { token: bob.accessToken, body });
      assert.equal((await receipt("m.read", first)).status, 200);
      const aliceStart = await sync(hs, alice);
      const seenByAlice = receiptOf(joinedRoom(aliceStart, roomId));
      assert.deepEqual(Object.keys(((seenByAlice?.[first] as Json)["m.read"] as Json) ?? {}), [bob.userId]);
      const afterRead = await syncUntil(hs, bob, counted["next_batch"] as string, (r) => receiptOf(joinedRoom(r, roomId)) !== undefined);
      assert.deepEqual(joinedRoom(afterRead, roomId)?.["unread_notifications"], { notification_count: 1, highlight_count: 0 });

      assert.equal((await receipt("m.read.private", second)).status, 200);
      const own = await syncUntil(hs, bob, afterRead["next_batch"] as string, (r) => receiptOf(joinedRoom(r, roomId)) !== undefined);
      assert.ok(((receiptOf(joinedRoom(own, roomId))?.[second] as Json)["m.read.private"] as Json)[bob.userId] !== undefined);
      assert.deepEqual(joinedRoom(own, roomId)?.["unread_notifications"], { notification_count: 0, highlight_count: 0 });
      const others = await sync(hs, alice, { since: aliceStart["next_batch"] as string });
      const privateSeen = JSON.stringify(receiptOf(joinedRoom(others, roomId)) ?? {}).includes("m.read.private");
      assert.equal(privateSeen, false, "m.read.private is never shown to another user");

      // A receipt never moves back.
      assert.equal((await receipt("m.read", second)).status, 200);
      assert.equal((await receipt("m.read", first)).status, 200);
      const initial = receiptOf(joinedRoom(await sync(hs, alice), roomId));
      assert.ok(((initial?.[second] as Json)["m.read"] as Json)[bob.userId] !== undefined);

      assertError(await receipt("m.read", "$nope"), 404, "M_NOT_FOUND");
      assertError(await receipt("m.unknown", first), 400, "M_INVALID_PARAM");
      assertError(await receipt("m.read", first, { thread_id: "" }), 400, "M_INVALID_PARAM");
      assertError(await receipt("m.read", first, { thread_id: 5 }), 400, "M_INVALID_PARAM");
      assertError(await receipt("m.fully_read", first, { thread_id: "main" }), 400, "M_INVALID_PARAM");
    });

    it("counts threads apart with unread_thread_notifications, and takes threaded receipts", async () => {
      const root = await sendText(hs, alice, roomId, "thread root");
      const inThread = await send(hs, alice, roomId, { msgtype: "m.text", body: "in thread", "m.relates_to": { rel_type: "m.thread", event_id: root } });
      await send(hs, alice, roomId, { msgtype: "m.text", body: "hi @bob", "m.mentions": { user_ids: [bob.userId] }, "m.relates_to": { rel_type: "m.thread", event_id: root } });
      const read = (eventId: string, threadId: string) =>
        call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { token: bob.accessToken, body: { thread_id: threadId } });
      assert.equal((await read(root, "main")).status, 200);
      const filter = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });
      const room = joinedRoom(await sync(hs, bob, { filter }), roomId);
      assert.deepEqual(room?.["unread_notifications"], { notification_count: 0, highlight_count: 0 });
      assert.deepEqual(room?.["unread_thread_notifications"], { [root]: { notification_count: 2, highlight_count: 1 } });
      assert.deepEqual(joinedRoom(await sync(hs, bob), roomId)?.["unread_notifications"], { notification_count: 2, highlight_count: 1 });
      assert.equal((await read(inThread, root)).status, 200);
      const after = joinedRoom(await sync(hs, bob, { filter }), roomId);
      assert.deepEqual(after?.["unread_thread_notifications"], { [root]: { notification_count: 1, highlight_count: 1 } });
      // receipts.yaml 400: "The event_id is not related to the thread_id".
      assertError(await read(inThread, "main"), 400, "M_INVALID_PARAM");
      assertError(await read(root, "$another"), 400, "M_INVALID_PARAM");
    });

    it("sets the fully read marker in room account data, with receipts", async () => {
      const event = await sendText(hs, alice, roomId, "marker");
      const start = await sync(hs, bob);
      const reply = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, {
        token: bob.accessToken,
        body: { "m.fully_read": event, "m.read": event },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const response = await syncUntil(hs, bob, start["next_batch"] as string, (r) =>
        ((joinedRoom(r, roomId)?.["account_data"] as Json | undefined)?.["events"] as Json[] | undefined)?.some((e) => e["type"] === "m.fully_read") === true,
      );
      const marker = ((joinedRoom(response, roomId)?.["account_data"] as Json)["events"] as Json[]).find((e) => e["type"] === "m.fully_read");
      assert.deepEqual(marker?.["content"], { event_id: event });
      const direct = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`, {
        token: bob.accessToken,
        body: { event_id: event },
      });
      assert.equal(direct.status, 405, "clients cannot set m.fully_read directly");
      const viaReceipt = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.fully_read/${enc(event)}`, { token: bob.accessToken, body: {} });
      assert.equal(viaReceipt.status, 200);
      assertError(
        await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, { token: bob.accessToken, body: { "m.fully_read": "$missing" } }),
        404,
        "M_NOT_FOUND",
      );
    });

    it("sets and reads presence, and shows it to those who share a room", async () => {
      const start = await sync(hs, alice, { set_presence: "offline" });
      const put = await call(hs, "PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, {
        token: bob.accessToken,
        body: { presence: "unavailable", status_msg: "away for lunch" },
      });
      assert.equal(put.status, 200);
      const got = await call(hs, "GET", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { token: alice.accessToken });
      assert.equal(got.body["presence"], "unavailable");
      assert.equal(got.body["status_msg"], "away for lunch");
      const response = await syncUntil(
        hs,
        alice,
        start["next_batch"] as string,
        (r) => ((r["presence"] as Json | undefined)?.["events"] as Json[] | undefined)?.some((e) => e["sender"] === bob.userId && (e["content"] as Json)["presence"] === "unavailable") === true,
        { set_presence: "offline" },
      );
      assert.ok(response["presence"] !== undefined);
      assertError(
        await call(hs, "PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: bob.accessToken, body: { presence: "online" } }),
        403,
        "M_FORBIDDEN",
      );
      const stranger = await registerUser(hs, "stranger");
      assertError(await call(hs, "GET", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { token: stranger.accessToken }), 403, "M_FORBIDDEN");
    });

    it("delivers to-device messages in order, and drops them once the next token acknowledges them", async () => {
      const start = await sync(hs, bob);
      for (let i = 0; i < 3; i++) {
        const reply = await call(hs, "PUT", `/_matrix/client/v3/sendToDevice/org.example.ping/td${i}`, {
          token: alice.accessToken,
          body: { messages: { [bob.userId]: { [bob.deviceId]: { n: i } } } },
        });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
      }
      const response = await syncUntil(hs, bob, start["next_batch"] as string, (r) => r["to_device"] !== undefined);
      const events = (response["to_device"] as Json)["events"] as Json[];
      assert.deepEqual(events.map((e) => (e["content"] as Json)["n"]), [0, 1, 2]);
      assert.equal(events[0]?.["sender"], alice.userId);
      const again = await sync(hs, bob, { since: start["next_batch"] as string });
      assert.equal(((again["to_device"] as Json | undefined)?.["events"] as Json[] | undefined)?.length, 3, "not acknowledged yet: sent again");
      await sync(hs, bob, { since: response["next_batch"] as string });
      const acknowledged = await sync(hs, bob, { since: start["next_batch"] as string });
      assert.equal(acknowledged["to_device"], undefined, "gone once a later token was used");
    });
  });

  describe(`presence switched off [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${SYNC_YAML}\npresence: {enabled: false}` });
    });
    after(() => hs.stop());

    it("accepts and ignores presence, and everyone reads as offline", async () => {
      const user = await registerUser(hs, "dave");
      const put = await call(hs, "PUT", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, { token: user.accessToken, body: { presence: "online" } });
      assert.equal(put.status, 200);
      const got = await call(hs, "GET", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, { token: user.accessToken });
      assert.deepEqual(got.body, { presence: "offline" });
      assert.equal((await sync(hs, user))["presence"], undefined);
    });
  });
}
