/**
 * GET /sync checked against the spec where a conformance suite (sytest, Complement) or a client
 * looks: left rooms a client could not otherwise learn of, their state, the presence of users
 * newly sharing a room, the federation event format, and stripped state received over federation.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { carriedStrippedState } from "../../../src/homeserver/sync/stripped-state.ts";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { registerUser, type TestUser } from "../api/client/helpers.ts";
import { SYNC_YAML, createRoom, invite, join, joinedRoom, leave, roomSection, sendText, stateOf, sync, timelineOf, type Json } from "./helpers.ts";

function presenceSenders(response: Json): string[] {
  const events = ((response["presence"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
  return events.map((e) => e["sender"] as string);
}

describe("carriedStrippedState", () => {
  it("prunes what an invite carried over federation to the stripped state schema", () => {
    // A v12 server sends whole PDUs in invite_room_state.
    const createPdu = {
      type: "m.room.create",
      state_key: "",
      sender: "@creator:remote.example",
      content: { room_version: "12" },
      origin_server_ts: 1,
      depth: 1,
      auth_events: [],
      prev_events: [],
      hashes: { sha256: "abc" },
      signatures: { "remote.example": { "ed25519:a": "sig" } },
    };
    const member = {
      stateKey: "@invitee:test.local",
      pdu: { unsigned: { invite_room_state: [createPdu, { type: "m.room.member", state_key: "@invitee:test.local", sender: "@creator:remote.example", content: { membership: "invite" } }] } },
    } as unknown as RoomEvent;
    assert.deepEqual(carriedStrippedState(member), [{ type: "m.room.create", state_key: "", sender: "@creator:remote.example", content: { room_version: "12" } }]);
  });
});

for (const engine of engines) {
  describe(`GET /sync audit [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let n = 0;
    const fresh = async (name: string): Promise<TestUser> => registerUser(hs, `${name}${++n}`);
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      alice = await registerUser(hs, "alice");
    });
    after(() => hs.stop());

    it("puts a rejected invite in rooms.leave with the user's own leave, also under `joined` visibility", async () => {
      const user = await fresh("rejecter");
      const roomId = await createRoom(hs, alice, { initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }] });
      await invite(hs, alice, roomId, user.userId);
      const first = await sync(hs, user);
      assert.ok(roomSection(first, "invite", roomId) !== undefined);
      await leave(hs, user, roomId);
      const second = await sync(hs, user, { since: first["next_batch"] as string });
      const left = roomSection(second, "leave", roomId);
      assert.ok(left !== undefined, "the client learns the invite is gone");
      assert.equal(roomSection(second, "invite", roomId), undefined);
      // Before-or-after hides it (invited, then left, under `joined`); Synapse shows it and sytest
      // ("We should see our own leave event when rejecting an invite") expects it.
      const own = timelineOf(left).find((e) => e["type"] === "m.room.member" && e["state_key"] === user.userId);
      assert.equal((own?.["content"] as Json | undefined)?.["membership"], "leave");
    });

    it("gives a room joined and left within the span its whole state in rooms.leave", async () => {
      const user = await fresh("visitor");
      const roomId = await createRoom(hs, alice, { preset: "public_chat", name: "Brief visit" });
      for (let i = 0; i < 12; i++) await sendText(hs, alice, roomId, `before ${i}`);
      const filter = JSON.stringify({ room: { include_leave: true, timeline: { limit: 3 } } });
      const first = await sync(hs, user, { filter });
      await join(hs, user, roomId);
      await leave(hs, user, roomId);
      const left = roomSection(await sync(hs, user, { filter, since: first["next_batch"] as string }), "leave", roomId);
      const shown = new Set([...stateOf(left), ...timelineOf(left)].map((e) => `${e["type"]}|${e["state_key"] ?? ""}`));
      for (const key of ["m.room.create|", "m.room.name|", "m.room.join_rules|", `m.room.member|${alice.userId}`]) assert.ok(shown.has(key), `${key} is in state or timeline`);
      assert.equal((timelineOf(left).at(-1)?.["content"] as Json)["membership"], "leave");
    });

    it("limits a left room's timeline by `since` under full_state, with the whole state", async () => {
      const user = await fresh("leaver");
      const roomId = await createRoom(hs, alice, { preset: "public_chat", name: "Left with full state" });
      await join(hs, user, roomId);
      await sendText(hs, alice, roomId, "before the token");
      const first = await sync(hs, user);
      await leave(hs, user, roomId);
      const left = roomSection(await sync(hs, user, { since: first["next_batch"] as string, full_state: true }), "leave", roomId);
      assert.deepEqual(
        timelineOf(left).map((e) => (e["content"] as Json)["membership"] ?? (e["content"] as Json)["body"]),
        ["leave"],
        "only what came after the token",
      );
      assert.ok(stateOf(left).some((e) => e["type"] === "m.room.create"), "the whole state");
    });

    it("sends the presence of a user who newly shares a room, though it did not change", async () => {
      const owner = await fresh("owner");
      const joiner = await fresh("joiner");
      const roomId = await createRoom(hs, owner, { preset: "public_chat" });
      await sync(hs, joiner); // the joiner is online before the owner's token
      const ownerStart = await sync(hs, owner);
      const joinerStart = await sync(hs, joiner);
      await join(hs, joiner, roomId);
      // The owner sees the new member's presence, and the joiner the members' of the room joined.
      const ownerNext = await sync(hs, owner, { since: ownerStart["next_batch"] as string });
      assert.ok(timelineOf(joinedRoom(ownerNext, roomId)).some((e) => e["sender"] === joiner.userId));
      assert.ok(presenceSenders(ownerNext).includes(joiner.userId), "the owner gets the joiner's presence");
      const joinerNext = await sync(hs, joiner, { since: joinerStart["next_batch"] as string });
      assert.ok(joinedRoom(joinerNext, roomId) !== undefined);
      assert.ok(presenceSenders(joinerNext).includes(owner.userId), "the joiner gets the owner's presence");
    });

    it("keeps room_id in events of the federation event_format", async () => {
      const roomId = await createRoom(hs, alice, { name: "Raw events" });
      await sendText(hs, alice, roomId, "raw");
      const response = await sync(hs, alice, { filter: JSON.stringify({ event_format: "federation", room: { rooms: [roomId], timeline: { limit: 1 } } }) });
      const room = joinedRoom(response, roomId);
      const [event] = timelineOf(room);
      assert.equal(event?.["room_id"], roomId);
      assert.ok(Array.isArray(event?.["prev_events"]), "a raw PDU");
      for (const state of stateOf(room)) assert.equal(state["room_id"], roomId);
      const client = await sync(hs, alice, { filter: JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 1 } } }) });
      assert.equal(timelineOf(joinedRoom(client, roomId))[0]?.["room_id"], undefined, "the client format leaves it out");
    });
  });
}
