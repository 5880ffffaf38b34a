// Two servers writing the same room at once: the DAG forks, and the room converges on what state
// resolution gives for the two branches. Soft failure: an event fine by the state before it but
// not by the room's current state is stored, marked, and kept out of timelines and prev_events.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { resolveState } from "../../../src/core/state-res/index.ts";
import type { Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, key, local, placeRemoteEvent, remote, REMOTE, RemoteServer, remoteKey, startRoomserver, version } from "./harness.ts";

const alice = local("alice");
const bob = remote("bob");

function memorySourceOf(roomserver: Roomserver) {
  return {
    fetchEvents: async (ids: readonly string[]) => {
      const out = new Map<string, RoomEvent>();
      for (const id of ids) {
        const info = await roomserver.getEvent(id);
        if (info !== undefined) out.set(id, info.event);
      }
      return out;
    },
  };
}

forEachEngine("roomserver: forks and soft failure", (getDb) => {
  for (const roomVersion of ["10", "12"]) {
    it(`converges on the resolution of two servers' branches (v${roomVersion})`, async () => {
      const { roomserver, outputs } = startRoomserver(getDb());
      const v = version(roomVersion);
      const { roomId } = await createLocalRoom(roomserver, roomVersion, alice, { [bob]: 50 });
      const server = new RemoteServer(REMOTE, remoteKey, v);
      const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
      assert.equal((await roomserver.input({ kind: "new", pdu: join })).outcome, "accepted");
      const forkPoint = (await roomserver.forwardExtremities(roomId))[0] as string;

      // Our branch: alice renames the room and sets a topic.
      await roomserver.createLocalEvent({ roomId, type: "m.room.name", stateKey: "", sender: alice, content: { name: "ours" } });
      const ourTopic = await roomserver.createLocalEvent({ roomId, type: "m.room.topic", stateKey: "", sender: alice, content: { topic: "alice's" } });
      const stateA = (await roomserver.stateAt(ourTopic.eventId)) as Map<string, string>;

      // Their branch, built on the fork point without our events: bob (power 50) sets the topic and a custom state.
      const theirTopic = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.topic", stateKey: "", sender: bob, content: { topic: "bob's" } }, {
        prevEvents: [forkPoint],
        authFrom: forkPoint,
      });
      const t = await roomserver.input({ kind: "new", pdu: theirTopic });
      assert.equal(t.outcome, "accepted", "reason" in t ? t.reason : "");
      const theirState = await placeRemoteEvent(roomserver, server, roomId, { type: "org.example.state", stateKey: "", sender: bob, content: { x: 1 } }, {
        prevEvents: [t.eventId as string],
        authFrom: t.eventId as string,
      });
      const s = await roomserver.input({ kind: "new", pdu: theirState });
      assert.equal(s.outcome, "accepted", "reason" in s ? s.reason : "");
      const stateB = (await roomserver.stateAt(s.eventId as string)) as Map<string, string>;

      assert.deepEqual(new Set(await roomserver.forwardExtremities(roomId)), new Set([ourTopic.eventId, s.eventId]));
      const expected = await resolveState([stateA, stateB], v, memorySourceOf(roomserver));
      assert.deepEqual(await roomserver.currentState(roomId), expected);
      assert.equal(expected.get(key("m.room.name")) !== undefined && expected.get(key("org.example.state")) === s.eventId, true);

      // Our next event merges the branches: its state before is that resolution.
      const merge = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content: { body: "merged" } });
      const info = await roomserver.getEvent(merge.eventId);
      assert.deepEqual(new Set(info?.event.prevEventIds), new Set([ourTopic.eventId, s.eventId]));
      assert.deepEqual(await roomserver.stateAt(merge.eventId, "before"), expected);
      assert.deepEqual(await roomserver.forwardExtremities(roomId), [merge.eventId]);
      // The outputs' state deltas add up to the current state.
      const replayed = new Map<string, string>();
      for (const o of outputs) {
        if (o.kind !== "new_room_event" || o.roomId !== roomId) continue;
        for (const [k, id] of o.stateDelta) {
          if (id === null) replayed.delete(k);
          else replayed.set(k, id);
        }
      }
      assert.deepEqual(replayed, expected);
    });
  }

  it("soft-fails an event that passes the state before it but not the current state", async () => {
    const { roomserver, outputs } = startRoomserver(getDb());
    const v = version("11");
    const { roomId } = await createLocalRoom(roomserver, "11");
    const server = new RemoteServer(REMOTE, remoteKey, v);
    const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
    const joined = await roomserver.input({ kind: "new", pdu: join });
    assert.equal(joined.outcome, "accepted");
    const ban = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: bob, sender: alice, content: { membership: "ban" } });

    // Bob's server has not seen the ban: it builds on his join.
    const evading = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "still talking" } }, {
      prevEvents: [joined.eventId as string],
      authFrom: joined.eventId as string,
    });
    const result = await roomserver.input({ kind: "new", pdu: evading });
    assert.equal(result.outcome, "soft_failed");
    assert.match("reason" in result ? result.reason : "", /by the current state/);
    const stored = await roomserver.getEvent(result.eventId as string);
    assert.equal(stored?.softFailed, true);
    assert.equal(stored?.streamOrdering, undefined);
    assert.deepEqual(await roomserver.forwardExtremities(roomId), [ban.eventId]);
    assert.ok(!outputs.some((o) => o.kind === "new_room_event" && o.event.eventId === result.eventId));
    // Our next event does not cite it.
    const next = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content: { body: "bye bob" } });
    assert.deepEqual((await roomserver.getEvent(next.eventId))?.event.prevEventIds, [ban.eventId]);
    // The same event sent again is a duplicate, still soft failed.
    const again = await roomserver.input({ kind: "new", pdu: evading });
    assert.equal(again.outcome, "soft_failed");
    assert.equal("duplicate" in again && again.duplicate, true);
  });

  it("stores outliers without state, and promotes one when it arrives as a new event", async () => {
    const { roomserver } = startRoomserver(getDb());
    const v = version("11");
    const { roomId } = await createLocalRoom(roomserver, "11");
    const server = new RemoteServer(REMOTE, remoteKey, v);
    const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
    const asOutlier = await roomserver.input({ kind: "outlier", pdu: join });
    assert.equal(asOutlier.outcome, "accepted");
    const outlier = await roomserver.getEvent(asOutlier.eventId as string);
    assert.equal(outlier?.outlier, true);
    assert.equal(await roomserver.stateAt(asOutlier.eventId as string), undefined);
    assert.ok(!(await roomserver.forwardExtremities(roomId)).includes(asOutlier.eventId as string));
    const promoted = await roomserver.input({ kind: "new", pdu: join });
    assert.equal(promoted.outcome, "accepted");
    assert.equal((await roomserver.getEvent(asOutlier.eventId as string))?.outlier, false);
    assert.equal((await roomserver.currentState(roomId))?.get(key("m.room.member", bob)), asOutlier.eventId);
    assert.deepEqual(await roomserver.forwardExtremities(roomId), [asOutlier.eventId]);
  });

  it("stores backfilled history with its state, out of the timeline and the extremities", async () => {
    const { roomserver, outputs } = startRoomserver(getDb());
    const v = version("11");
    const { roomId } = await createLocalRoom(roomserver, "11");
    const server = new RemoteServer(REMOTE, remoteKey, v);
    const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
    const joined = await roomserver.input({ kind: "new", pdu: join });
    await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content: { body: "later" } });
    const extremities = await roomserver.forwardExtremities(roomId);
    const old = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "from the past" } }, {
      prevEvents: [joined.eventId as string],
      authFrom: joined.eventId as string,
    });
    const result = await roomserver.input({ kind: "backfilled", pdu: old });
    assert.equal(result.outcome, "accepted");
    assert.equal(result.outcome === "accepted" && result.streamOrdering, undefined);
    const info = await roomserver.getEvent(result.eventId as string);
    assert.equal(info?.backfilled, true);
    assert.deepEqual(await roomserver.stateAt(result.eventId as string, "before"), await roomserver.stateAt(joined.eventId as string));
    assert.deepEqual(await roomserver.forwardExtremities(roomId), extremities);
    assert.ok(!outputs.some((o) => o.kind === "new_room_event" && o.event.eventId === result.eventId));
  });
});
