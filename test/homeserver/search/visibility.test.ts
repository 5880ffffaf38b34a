// Who finds what with POST /search (modules/search.md "Only events that the user is allowed to see
// will be searched"), over real HTTP on both engines: history visibility for members, former
// members and strangers, world_readable rooms named in the filter, forgotten rooms, ignored users
// (their state events still found), redacted and encrypted events, and guests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { EVENTS_YAML, assertError, call, createRoom, enc, registerGuest, registerUser, roomPath, send, setMembership, startEventsHomeserver, text, type TestUser } from "../events/helpers.ts";
import { ids, ignore, roomEvents, search } from "./helpers.ts";

for (const engine of engines) {
  describe(`POST /search: who sees what [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    const found = async (user: TestUser, term: string, filter: Record<string, unknown> = {}) =>
      ids(await roomEvents(hs, user, { search_term: term, order_by: "recent", filter }));

    before(async () => {
      hs = await startEventsHomeserver(engine, `${EVENTS_YAML}\nallow_guest_access: true`);
      [alice, bob, carol] = await Promise.all([registerUser(hs, "v_alice"), registerUser(hs, "v_bob"), registerUser(hs, "v_carol")]);
    });
    after(() => hs.stop());

    it("a former member finds what they saw until they left, nothing after", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      const seen = await send(hs, alice, roomId, text("departure words"));
      await setMembership(hs, roomId, bob, "leave");
      await send(hs, alice, roomId, text("departure words again"));
      assert.deepEqual(await found(bob, "departure"), [seen]);
      const answer = await roomEvents(hs, bob, { search_term: "departure" });
      assert.equal(answer["count"], 1, "the count leaves out what came after the leave");
    });

    it("history_visibility joined: nothing from before the join; strangers find nothing in a private room", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "joined" });
      await send(hs, alice, roomId, text("arrival words early"));
      await setMembership(hs, roomId, bob, "join");
      const late = await send(hs, alice, roomId, text("arrival words late"));
      assert.deepEqual(await found(bob, "arrival"), [late]);
      assert.deepEqual(await found(carol, "arrival"), []);
      assert.deepEqual(await found(carol, "arrival", { rooms: [roomId] }), [], "naming the room gives no access");
    });

    it("a world_readable room is searched when the filter names it, not otherwise", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      const open = await send(hs, alice, roomId, text("readable by anyone"));
      assert.deepEqual(await found(carol, "readable", { rooms: [roomId] }), [open]);
      assert.deepEqual(await found(carol, "readable"), [], "only the rooms a user has been in by default");
    });

    it("a room the user left and forgot is no longer searched", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      const message = await send(hs, alice, roomId, text("forgettable words"));
      await setMembership(hs, roomId, bob, "leave");
      assert.deepEqual(await found(bob, "forgettable"), [message]);
      const forgot = await call(hs, "POST", roomPath(roomId, "/forget"), { token: bob.accessToken, body: {} });
      assert.equal(forgot.status, 200, JSON.stringify(forgot.body));
      assert.deepEqual(await found(bob, "forgettable"), []);
    });

    it("leaves out the messages of ignored users, not their state events", async () => {
      // Anyone may set the topic here, so that carol can send a state event.
      const roomId = await createRoom(hs, alice, { powerLevels: { events: { "m.room.topic": 0 } } });
      await setMembership(hs, roomId, carol, "join");
      const mine = await send(hs, alice, roomId, text("ignorable words"));
      await send(hs, carol, roomId, text("ignorable words from carol"));
      const renamed = await call(hs, "PUT", roomPath(roomId, "/state/m.room.name/"), { token: alice.accessToken, body: { name: "ignorable name" } });
      assert.equal(renamed.status, 200);
      const carolsTopic = await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic/"), { token: carol.accessToken, body: { topic: "ignorable topic" } });
      assert.equal(carolsTopic.status, 200, JSON.stringify(carolsTopic.body));
      await ignore(hs, alice, [carol.userId]);
      assert.deepEqual(await found(alice, "ignorable"), [carolsTopic.body["event_id"], renamed.body["event_id"], mine]);
      await ignore(hs, alice, []);
      assert.equal((await found(alice, "ignorable")).length, 4);
    });

    it("never finds a redacted event, nor an encrypted one", async () => {
      const roomId = await createRoom(hs, alice);
      const doomed = await send(hs, alice, roomId, text("redactable words"));
      const kept = await send(hs, alice, roomId, text("redactable but kept"));
      assert.deepEqual(await found(alice, "redactable"), [kept, doomed]);
      const redacted = await call(hs, "PUT", roomPath(roomId, `/redact/${enc(doomed)}/r1`), { token: alice.accessToken, body: { reason: "oops" } });
      assert.equal(redacted.status, 200, JSON.stringify(redacted.body));
      assert.deepEqual(await found(alice, "redactable"), [kept]);
      assert.equal((await roomEvents(hs, alice, { search_term: "redactable" }))["count"], 1);
      await send(hs, alice, roomId, { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "cipherword", session_id: "s", sender_key: "k", device_id: "D" }, "m.room.encrypted");
      await send(hs, alice, roomId, { body: "cipherword" }, "m.room.encrypted");
      assert.deepEqual(await found(alice, "cipherword"), []);
    });

    it("refuses guests", async () => {
      const guest = await registerGuest(hs);
      assertError(await search(hs, guest, { search_term: "anything" }), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });
}
