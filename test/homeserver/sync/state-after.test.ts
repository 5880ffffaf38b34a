/**
 * GET /sync with `use_state_after` (sync.yaml, v1.16; MSC4222's unstable name, which matrix-js-sdk
 * sends): each room carries `state_after`, the state at the END of its timeline (whole, or what
 * changed since the token), and no `state`; the timeline's state events are repeated there, since
 * the client takes its state from `state_after` alone. Over real HTTP on both engines.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import { SYNC_YAML, createRoom, join, joinedRoom, leave, roomSection, sendText, setState, sync, timelineOf, type Json } from "./helpers.ts";

function stateAfterOf(room: Json | undefined, key = "state_after"): Json[] {
  const section = room?.[key] as Json | undefined;
  assert.ok(section !== undefined, `the room has ${key}`);
  return section["events"] as Json[];
}

const keyOf = (e: Json): string => `${e["type"] as string}|${(e["state_key"] as string | undefined) ?? ""}`;
const contentOf = (events: readonly Json[], type: string): Json | undefined => events.find((e) => e["type"] === type)?.["content"] as Json | undefined;

for (const engine of engines) {
  describe(`GET /sync with use_state_after [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      [alice, bob, carol] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "carol")]);
    });
    after(() => hs.stop());

    it("gives an initial sync the whole state at the end of the timeline, timeline state included, and no state", async () => {
      const roomId = await createRoom(hs, alice, { name: "First name" });
      await sendText(hs, alice, roomId, "hello");
      await setState(hs, alice, roomId, "m.room.name", "", { name: "Last name" });
      const room = joinedRoom(await sync(hs, alice, { use_state_after: true }), roomId);
      assert.equal(room?.["state"], undefined, "state is omitted");
      const stateAfter = stateAfterOf(room);
      const keys = stateAfter.map(keyOf);
      for (const k of ["m.room.create|", `m.room.member|${alice.userId}`, "m.room.power_levels|", "m.room.join_rules|", "m.room.name|"]) assert.ok(keys.includes(k), k);
      assert.equal(new Set(keys).size, keys.length, "one event a state key");
      assert.deepEqual(contentOf(stateAfter, "m.room.name"), { name: "Last name" });
      // The name event is the timeline's last: it is in both.
      const lastId = timelineOf(room).at(-1)?.["event_id"];
      assert.ok(stateAfter.some((e) => e["event_id"] === lastId));
    });

    it("gives an incremental sync the state changes up to the end of a complete timeline, and an empty list when none", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const start = await sync(hs, bob, { use_state_after: true });
      await sendText(hs, alice, roomId, "only a message");
      const quiet = await sync(hs, bob, { since: start["next_batch"] as string, use_state_after: true });
      assert.deepEqual(stateAfterOf(joinedRoom(quiet, roomId)), [], "required even when empty");
      assert.equal(joinedRoom(quiet, roomId)?.["state"], undefined);

      const topicId = await setState(hs, alice, roomId, "m.room.topic", "", { topic: "new topic" });
      await sendText(hs, alice, roomId, "after the topic");
      const changed = joinedRoom(await sync(hs, bob, { since: quiet["next_batch"] as string, use_state_after: true }), roomId);
      assert.equal((changed?.["timeline"] as Json)["limited"], false);
      assert.deepEqual(stateAfterOf(changed).map((e) => e["event_id"]), [topicId], "the timeline's state change, and only it");
      // Without the parameter, a complete timeline carries its state itself.
      const classic = joinedRoom(await sync(hs, bob, { since: quiet["next_batch"] as string }), roomId);
      assert.deepEqual((classic?.["state"] as Json)["events"], []);
      assert.equal(classic?.["state_after"], undefined);
    });

    it("takes a limited sync's state at the end of the timeline, where state takes it at its start", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId] });
      await join(hs, bob, roomId);
      const since = (await sync(hs, bob))["next_batch"] as string;
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "in the gap" });
      for (let i = 0; i < 4; i++) await sendText(hs, alice, roomId, `gap ${i}`);
      await setState(hs, alice, roomId, "m.room.topic", "", { topic: "in the timeline" });
      const filter = JSON.stringify({ room: { timeline: { limit: 2 } } });
      const afterSync = joinedRoom(await sync(hs, bob, { since, filter, use_state_after: true }), roomId);
      assert.equal((afterSync?.["timeline"] as Json)["limited"], true);
      assert.deepEqual(contentOf(stateAfterOf(afterSync), "m.room.topic"), { topic: "in the timeline" });
      assert.equal(stateAfterOf(afterSync).some((e) => e["type"] === "m.room.create"), false, "only what changed");
      const classic = joinedRoom(await sync(hs, bob, { since, filter }), roomId);
      assert.deepEqual(contentOf((classic?.["state"] as Json)["events"] as Json[], "m.room.topic"), { topic: "in the gap" });
    });

    it("answers MSC4222's unstable parameter under its unstable name", async () => {
      const roomId = await createRoom(hs, alice, { name: "Unstable" });
      const room = joinedRoom(await sync(hs, alice, { "org.matrix.msc4222.use_state_after": true }), roomId);
      assert.equal(room?.["state"], undefined);
      assert.equal(room?.["state_after"], undefined);
      assert.ok(stateAfterOf(room, "org.matrix.msc4222.state_after").some((e) => e["type"] === "m.room.name"));
    });

    it("lazy-loads members from the end of the timeline, with the members the timeline changed", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      // Five members before him: the invitee below is not among the heroes.
      for (const quiet of await Promise.all([1, 2, 3, 4, 5].map((i) => registerUser(hs, `quiet-after-${i}`)))) await join(hs, quiet, roomId);
      await join(hs, bob, roomId);
      const dave = await registerUser(hs, "dave-state-after");
      await call(hs, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, { token: alice.accessToken, body: { user_id: dave.userId } });
      const lazy = JSON.stringify({ room: { state: { lazy_load_members: true } } });
      const first = await sync(hs, bob, { filter: lazy, use_state_after: true });
      const members = (response: Json): string[] =>
        stateAfterOf(joinedRoom(response, roomId))
          .filter((e) => e["type"] === "m.room.member")
          .map((e) => e["state_key"] as string);
      assert.ok(members(first).includes(alice.userId), "the sender of the timeline's events");
      assert.ok(members(first).includes(bob.userId), "the user's own");
      // dave sent nothing, but the timeline's invite is about him: the client learns it from state_after alone.
      assert.ok(timelineOf(joinedRoom(first, roomId)).some((e) => e["type"] === "m.room.member" && e["state_key"] === dave.userId));
      assert.ok(!((joinedRoom(first, roomId)?.["summary"] as Json)["m.heroes"] as string[]).includes(dave.userId), "not a hero");
      assert.ok(members(first).includes(dave.userId), "the invitee of the timeline's invite");
      // carol joins and speaks: her member event is in the timeline, and the client learns of her
      // membership only from state_after.
      await join(hs, carol, roomId);
      await sendText(hs, carol, roomId, "hi from carol");
      const second = await sync(hs, bob, { since: first["next_batch"] as string, filter: lazy, use_state_after: true });
      assert.deepEqual(members(second), [carol.userId]);
      // Nothing new about members: none again.
      await sendText(hs, alice, roomId, "again");
      const third = await sync(hs, bob, { since: second["next_batch"] as string, filter: lazy, use_state_after: true });
      assert.deepEqual(members(third), []);
    });

    it("gives a left room its state after the leave, and refuses a value that is not a boolean", async () => {
      const roomId = await createRoom(hs, alice, { invite: [carol.userId] });
      await join(hs, carol, roomId);
      const since = (await sync(hs, carol, { use_state_after: true }))["next_batch"] as string;
      await leave(hs, carol, roomId);
      const left = roomSection(await sync(hs, carol, { since, use_state_after: true }), "leave", roomId);
      assert.equal(left?.["state"], undefined);
      const own = stateAfterOf(left).find((e) => e["type"] === "m.room.member" && e["state_key"] === carol.userId);
      assert.equal((own?.["content"] as Json | undefined)?.["membership"], "leave");
      assertError(await call(hs, "GET", "/_matrix/client/v3/sync?use_state_after=yes", { token: alice.accessToken }), 400, "M_INVALID_PARAM");
    });
  });
}
