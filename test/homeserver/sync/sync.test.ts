/**
 * GET /sync over real HTTP on both engines: rooms in their sections, the state/timeline split,
 * long-polling, tokens that neither miss nor repeat under concurrent sends, gappy syncs whose
 * prev_batch pages back exactly to the previous token, filters, and lazy-loaded members.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import {
  SYNC_YAML,
  bodies,
  createRoom,
  join,
  joinedRoom,
  leave,
  roomSection,
  sendText,
  setState,
  stateOf,
  sync,
  syncUntil,
  timelineOf,
  type Json,
} from "./helpers.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`GET /sync [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      [alice, bob, carol] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "carol")]);
    });
    after(() => hs.stop());

    it("shows an invite as stripped state, then the joined room with its state and timeline", async () => {
      const roomId = await createRoom(hs, alice, { name: "Invite room", invite: [bob.userId] });
      const first = await sync(hs, bob);
      const invited = roomSection(first, "invite", roomId);
      const stripped = ((invited?.["invite_state"] as Json)["events"] as Json[]).map((e) => `${e["type"]}|${e["state_key"]}`);
      assert.ok(stripped.includes("m.room.create|"), "stripped state has the create event");
      assert.ok(stripped.includes("m.room.name|"));
      assert.ok(stripped.includes(`m.room.member|${bob.userId}`));
      for (const e of (invited?.["invite_state"] as Json)["events"] as Json[]) assert.deepEqual(Object.keys(e).sort(), ["content", "sender", "state_key", "type"]);

      await join(hs, bob, roomId);
      await sendText(hs, alice, roomId, "welcome");
      const second = await sync(hs, bob, { since: first["next_batch"] as string });
      const room = joinedRoom(second, roomId);
      assert.ok(room !== undefined, "the room is in join once joined");
      assert.equal(roomSection(second, "invite", roomId), undefined);
      assert.deepEqual(bodies(timelineOf(room)), ["welcome"]);
      // Newly joined: the timeline and state together are the whole room, nothing in both.
      const ids = new Set([...timelineOf(room), ...stateOf(room)].map((e) => `${e["type"]}|${e["state_key"] ?? ""}`));
      for (const key of ["m.room.create|", "m.room.power_levels|", "m.room.join_rules|", `m.room.member|${alice.userId}`, `m.room.member|${bob.userId}`]) {
        assert.ok(ids.has(key), `${key} is in state or timeline`);
      }
      const timelineIds = new Set(timelineOf(room).map((e) => e["event_id"]));
      for (const e of stateOf(room)) assert.ok(!timelineIds.has(e["event_id"]), "no event in both state and timeline");
      assert.deepEqual(room?.["summary"], { "m.heroes": [alice.userId], "m.joined_member_count": 2, "m.invited_member_count": 0 });
    });

    it("shows a knock as stripped state in rooms.knock", async () => {
      const roomId = await createRoom(hs, alice, { initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }], name: "Knock room" });
      const start = await sync(hs, carol);
      const knocked = await call(hs, "POST", `/_matrix/client/v3/knock/${enc(roomId)}`, { token: carol.accessToken, body: {} });
      assert.equal(knocked.status, 200, JSON.stringify(knocked.body));
      const response = await syncUntil(hs, carol, start["next_batch"] as string, (r) => roomSection(r, "knock", roomId) !== undefined);
      const events = ((roomSection(response, "knock", roomId)?.["knock_state"] as Json)["events"] as Json[]).map((e) => `${e["type"]}|${e["state_key"]}`);
      assert.ok(events.includes("m.room.create|"));
      assert.ok(events.includes("m.room.name|"));
      assert.ok(events.includes(`m.room.member|${carol.userId}`));
    });

    it("puts the state at the start of the timeline in an initial sync", async () => {
      const roomId = await createRoom(hs, alice, { name: "Before" });
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "old topic" });
      for (let i = 0; i < 3; i++) await sendText(hs, alice, roomId, `m${i}`);
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "new topic" });
      await sendText(hs, alice, roomId, "last");
      const filter = JSON.stringify({ room: { timeline: { limit: 2 } } });
      const room = joinedRoom(await sync(hs, alice, { filter }), roomId);
      const timeline = timelineOf(room);
      assert.equal(timeline.length, 2);
      assert.equal((timeline[0]?.["content"] as Json)["topic"], "new topic");
      assert.equal((room?.["timeline"] as Json)["limited"], true);
      const topic = stateOf(room).find((e) => e["type"] === "m.room.topic");
      assert.equal((topic?.["content"] as Json)["topic"], "old topic", "the state is as it was before the timeline");
    });

    it("returns a long-poll when an event for the user arrives, before its timeout", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      let token = (await sync(hs, bob))["next_batch"] as string;
      // Presence from the syncs themselves may end a wait first: each answer must have something
      // (an empty one would mean the timeout passed), until the message comes.
      let sent: string | undefined;
      for (let polls = 0; ; polls++) {
        const waiting = sync(hs, bob, { since: token, timeout: 120_000 });
        if (polls === 0) {
          // Something for another user only must not end the wait.
          await createRoom(hs, carol, { name: "elsewhere" });
          sent = await sendText(hs, alice, roomId, "wake up");
        }
        const response = await waiting;
        const news = Object.keys(response).filter((k) => !["next_batch", "device_one_time_keys_count", "device_unused_fallback_key_types"].includes(k));
        assert.ok(news.length > 0, "woken by something for the user, not the timeout");
        if (timelineOf(joinedRoom(response, roomId)).some((e) => e["event_id"] === sent)) break;
        assert.ok(polls < 10);
        token = response["next_batch"] as string;
      }
    });

    it("answers an empty long-poll with the same rooms empty and a usable token", async () => {
      const first = await sync(hs, carol);
      const second = await sync(hs, carol, { since: first["next_batch"] as string, timeout: 50 });
      assert.equal(second["rooms"], undefined);
      assert.equal(typeof second["next_batch"], "string");
    });

    // Bounded: a send that never finished would otherwise keep the loop polling forever.
    it("never misses or repeats an event across tokens under concurrent sends to several rooms", { timeout: 120_000 }, async () => {
      // Rooms commit side by side (on PostgreSQL their positions may commit out of order); a small
      // timeline limit makes gaps, which are paged with /messages.
      const senders = [alice, ...(await Promise.all([1, 2, 3].map((i) => registerUser(hs, `sender${i}`))))];
      // One after another: rooms made in the same millisecond with the same content share their ID
      // (a v12 room ID is the hash of its create event).
      const rooms: string[] = [];
      for (let r = 0; r < 3; r++) rooms.push(await createRoom(hs, alice, { preset: "public_chat", name: `busy ${r}` }));
      for (const roomId of rooms) {
        for (const s of senders.slice(1)) await join(hs, s, roomId);
        await join(hs, carol, roomId);
      }
      const start = await sync(hs, carol);
      const perSender = 12;
      const expected = new Set<string>();
      let done = false;
      const sending = Promise.all(
        senders.flatMap((s, n) =>
          rooms.map(async (roomId, r) => {
            for (let i = 0; i < perSender; i++) expected.add(await sendText(hs, s, roomId, `s${n}-r${r}-${i}`));
          }),
        ),
      ).finally(() => (done = true)); // also when a send fails: the loop ends, and `await sending` says why
      const seen: string[] = [];
      let token = start["next_batch"] as string;
      const filter = JSON.stringify({ room: { timeline: { limit: 5 } } });
      for (let quiet = 0; quiet < 5 && !(done && expected.size > 0 && seen.filter((id) => expected.has(id)).length >= expected.size); ) {
        const response = await sync(hs, carol, { since: token, timeout: 2000, filter });
        let got = 0;
        for (const roomId of rooms) {
          const room = joinedRoom(response, roomId);
          const timeline = room?.["timeline"] as Json | undefined;
          if (timeline?.["limited"] === true) {
            const gap = await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=1000&from=${enc(timeline["prev_batch"] as string)}&to=${enc(token)}`, {
              token: carol.accessToken,
            });
            assert.equal(gap.status, 200);
            seen.push(...(gap.body["chunk"] as Json[]).reverse().map((e) => e["event_id"] as string));
          }
          const events = timelineOf(room).map((e) => e["event_id"] as string);
          got += events.length;
          seen.push(...events);
        }
        token = response["next_batch"] as string;
        if (done && got === 0) quiet++;
      }
      await sending;
      const messages = seen.filter((id) => expected.has(id));
      assert.equal(new Set(seen).size, seen.length, "no event is repeated");
      assert.equal(messages.length, expected.size, "every event is seen");
    });

    it("sets limited and a prev_batch that pages back exactly to the previous token", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const start = await sync(hs, bob);
      const since = start["next_batch"] as string;
      const sent: string[] = [];
      for (let i = 0; i < 8; i++) sent.push(await sendText(hs, alice, roomId, `gap ${i}`));
      const filter = JSON.stringify({ room: { timeline: { limit: 3 } } });
      const response = await sync(hs, bob, { since, filter });
      const timeline = joinedRoom(response, roomId)?.["timeline"] as Json;
      assert.equal(timeline["limited"], true);
      assert.deepEqual(timelineOf(joinedRoom(response, roomId)).map((e) => e["event_id"]), sent.slice(5));
      const gap = await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100&from=${enc(timeline["prev_batch"] as string)}&to=${enc(since)}`, {
        token: bob.accessToken,
      });
      assert.equal(gap.status, 200, JSON.stringify(gap.body));
      assert.deepEqual((gap.body["chunk"] as Json[]).map((e) => e["event_id"]).reverse(), sent.slice(0, 5));
    });

    it("sends the state changes of a gap in an incremental limited sync", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const start = await sync(hs, bob);
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "in the gap" });
      for (let i = 0; i < 4; i++) await sendText(hs, alice, roomId, `after ${i}`);
      const filter = JSON.stringify({ room: { timeline: { limit: 2 } } });
      const room = joinedRoom(await sync(hs, bob, { since: start["next_batch"] as string, filter }), roomId);
      const topic = stateOf(room).find((e) => e["type"] === "m.room.topic");
      assert.equal((topic?.["content"] as Json | undefined)?.["topic"], "in the gap");
      assert.equal(stateOf(room).some((e) => e["type"] === "m.room.create"), false, "only what changed");
    });

    it("full_state sends the whole state in an incremental sync", async () => {
      const roomId = await createRoom(hs, alice, { name: "Full" });
      const start = await sync(hs, alice);
      await sendText(hs, alice, roomId, "x");
      const room = joinedRoom(await sync(hs, alice, { since: start["next_batch"] as string, full_state: true }), roomId);
      assert.ok(stateOf(room).some((e) => e["type"] === "m.room.create"));
      assert.deepEqual(bodies(timelineOf(room)), ["x"]);
    });

    it("applies a filter by ID and inline: types, senders, event_fields, rooms", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const other = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, other);
      const start = await sync(hs, bob);
      await sendText(hs, alice, roomId, "from alice");
      await sendText(hs, bob, roomId, "from bob");
      await sendText(hs, alice, other, "other room");
      const created = await call(hs, "POST", `/_matrix/client/v3/user/${enc(bob.userId)}/filter`, {
        token: bob.accessToken,
        body: { room: { rooms: [roomId], timeline: { senders: [alice.userId], types: ["m.room.message"] } }, event_fields: ["type", "content.body"] },
      });
      const response = await sync(hs, bob, { since: start["next_batch"] as string, filter: created.body["filter_id"] as string });
      assert.equal(joinedRoom(response, other), undefined, "rooms not in the filter are left out");
      assert.deepEqual(timelineOf(joinedRoom(response, roomId)), [{ type: "m.room.message", content: { body: "from alice" } }]);
      const inline = await sync(hs, bob, { since: start["next_batch"] as string, filter: JSON.stringify({ room: { timeline: { not_senders: [alice.userId] } } }) });
      assert.deepEqual(bodies(timelineOf(joinedRoom(inline, roomId))), ["from bob"]);
      assertError(await call(hs, "GET", "/_matrix/client/v3/sync?filter=%7Bnot%20json", { token: bob.accessToken }), 400, "M_NOT_JSON");
      assertError(await call(hs, "GET", `/_matrix/client/v3/sync?filter=${enc('{"room":{"timeline":{"limit":"x"}}}')}`, { token: bob.accessToken }), 400, "M_BAD_JSON");
      assertError(await call(hs, "GET", "/_matrix/client/v3/sync?since=garbage", { token: bob.accessToken }), 400, "M_INVALID_PARAM");
    });

    it("lazy-loads members: only the timeline's senders, and not again once sent", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      // Six quiet members: the first four are heroes (with alice), whose members are sent; the last is not.
      const quietMembers = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => registerUser(hs, `quiet${i}`)));
      for (const member of quietMembers) await join(hs, member, roomId);
      const quiet = quietMembers.at(-1) as TestUser;
      await join(hs, bob, roomId);
      for (let i = 0; i < 5; i++) await sendText(hs, alice, roomId, `ll ${i}`);
      const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 3 } } };
      const first = await sync(hs, bob, { filter: JSON.stringify(lazy) });
      const members = stateOf(joinedRoom(first, roomId))
        .filter((e) => e["type"] === "m.room.member")
        .map((e) => e["state_key"]);
      assert.ok(members.includes(alice.userId), "the sender's member event");
      assert.ok(members.includes(bob.userId), "the user's own member event");
      assert.ok(!members.includes(quiet.userId), "not a member who said nothing (nor a hero)");
      for (const hero of (joinedRoom(first, roomId)?.["summary"] as Json)["m.heroes"] as string[]) assert.ok(members.includes(hero), "the heroes' member events");
      await sendText(hs, alice, roomId, "again");
      const second = await sync(hs, bob, { since: first["next_batch"] as string, filter: JSON.stringify(lazy) });
      assert.equal(stateOf(joinedRoom(second, roomId)).filter((e) => e["type"] === "m.room.member").length, 0, "redundant members are not sent again");
      const redundant = { room: { state: { lazy_load_members: true, include_redundant_members: true } } };
      const third = await sync(hs, bob, { since: first["next_batch"] as string, filter: JSON.stringify(redundant) });
      assert.ok(stateOf(joinedRoom(third, roomId)).some((e) => e["state_key"] === alice.userId), "include_redundant_members sends them");
    });

    it("moves a room to leave when the user leaves, with the timeline up to the leave", async () => {
      const roomId = await createRoom(hs, alice, { invite: [carol.userId] });
      await join(hs, carol, roomId);
      const start = await sync(hs, carol);
      await sendText(hs, alice, roomId, "before leaving");
      await leave(hs, carol, roomId);
      await sendText(hs, alice, roomId, "after leaving");
      const response = await sync(hs, carol, { since: start["next_batch"] as string });
      const left = roomSection(response, "leave", roomId);
      assert.ok(left !== undefined);
      assert.deepEqual(bodies(timelineOf(left)), ["before leaving"]);
      assert.equal(timelineOf(left).at(-1)?.["type"], "m.room.member");
      assert.equal(joinedRoom(response, roomId), undefined);
      const initial = await sync(hs, carol, { filter: JSON.stringify({ room: { include_leave: true } }) });
      assert.ok(roomSection(initial, "leave", roomId) !== undefined, "include_leave shows it in an initial sync");
      assert.equal(roomSection(await sync(hs, carol), "leave", roomId), undefined);
    });

    it("delivers account data, global and per room, and filters out ignored users", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const start = await sync(hs, bob);
      await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/org.example.global`, { token: bob.accessToken, body: { a: 1 } });
      await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/org.example.room`, { token: bob.accessToken, body: { b: 2 } });
      const response = await syncUntil(hs, bob, start["next_batch"] as string, (r) => joinedRoom(r, roomId) !== undefined);
      assert.deepEqual((response["account_data"] as Json)["events"], [{ type: "org.example.global", content: { a: 1 } }]);
      assert.deepEqual((joinedRoom(response, roomId)?.["account_data"] as Json)["events"], [{ type: "org.example.room", content: { b: 2 } }]);

      await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.ignored_user_list`, {
        token: bob.accessToken,
        body: { ignored_users: { [alice.userId]: {} } },
      });
      const next = response["next_batch"] as string;
      await sendText(hs, alice, roomId, "ignored message");
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "state still shows" });
      const ignoring = await sync(hs, bob, { since: next });
      const timeline = timelineOf(joinedRoom(ignoring, roomId));
      assert.deepEqual(bodies(timeline), [], "messages of ignored users are not sent");
      assert.ok(timeline.some((e) => e["type"] === "m.room.topic"), "their state events still are");
      const inviteRoom = await createRoom(hs, alice, { invite: [bob.userId] });
      assert.equal(roomSection(await sync(hs, bob, { since: ignoring["next_batch"] as string }), "invite", inviteRoom), undefined, "no invites from them");
      await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.ignored_user_list`, { token: bob.accessToken, body: { ignored_users: {} } });
    });
  });
}
