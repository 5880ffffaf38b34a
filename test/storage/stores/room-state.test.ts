import assert from "node:assert/strict";
import { it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { EventStore } from "../../../src/storage/stores/events.ts";
import type { EventRecord } from "../../../src/storage/stores/events.ts";
import { NidCaches } from "../../../src/storage/stores/nid-cache.ts";
import { StateSnapshot } from "../../../src/storage/stores/state-snapshot.ts";
import { createRoom } from "../../core/state-res/fixtures.ts";
import { forEachEngine } from "../engines.ts";

const v11 = getRoomVersion("11");

function record(event: RoomEvent, before: StateSnapshot, after: StateSnapshot): EventRecord {
  return {
    eventId: event.eventId,
    type: event.type,
    stateKey: event.stateKey,
    sender: event.sender,
    depth: event.depth,
    originServerTs: event.originServerTs,
    json: JSON.stringify(event.pdu),
    prevEventIds: event.prevEventIds,
    authEventIds: event.authEventIds,
    outlier: false,
    backfilled: false,
    softFailed: false,
    rejectedReason: undefined,
    stateBefore: before,
    stateAfter: after,
    replacesOutlier: false,
  };
}

let rooms = 0;

/** A room of `members` joins and `changes` display name changes, stored; the state after each event returned. */
async function storeRoom(store: EventStore, members: number, changes: number) {
  if (v11 === undefined) throw new Error("no v11");
  // A clock of its own, so that each room's events (and IDs) differ from the other tests'.
  const { room, fork } = createRoom(v11, { clockStart: 1_700_000_000_000 + ++rooms * 1_000_000_000 });
  const names: string[] = [];
  for (let i = 0; i < members; i++) {
    const name = `@m${i}:example.org`;
    names.push(name);
    room.join(fork, name);
  }
  for (let i = 0; i < changes; i++) {
    const who = names[(i * 31) % names.length] as string;
    room.member(fork, who, who, "join", { displayname: `n${i}` });
  }
  const after = new Map<string, StateSnapshot>();
  const records: EventRecord[] = [];
  for (const event of room.events.values()) {
    const before = event.prevEventIds.length === 0 ? StateSnapshot.empty() : (after.get(event.prevEventIds[0] as string) as StateSnapshot);
    const stateAfter = event.stateKey === undefined ? before : before.apply(new Map([[stateMapKey(event.type, event.stateKey), event.eventId]]));
    after.set(event.eventId, stateAfter);
    records.push(record(event, before, stateAfter));
  }
  for (let i = 0; i < records.length; i += 100) {
    await store.persist({ roomId: room.roomId, roomVersion: "11", events: records.slice(i, i + 100), stream: [], applyRedactions: [], pendingRedactions: [], settledRedactions: [], now: 1 });
  }
  return { room, fork, after };
}

forEachEngine("RoomStateStore", (getDb) => {
  it("reads back the state after every event, from a cold cache, as stored", async () => {
    const store = new EventStore(getDb(), new NidCaches());
    const { room, after } = await storeRoom(store, 300, 200);
    const cold = new EventStore(getDb(), new NidCaches());
    const stored = await cold.getEvents([...room.events.keys()]);
    const groups = [...stored.values()].map((e) => e.stateAfter as number);
    const snapshots = await cold.state.loadSnapshots(groups);
    for (const [id, event] of stored) {
      assert.deepEqual(snapshots.get(event.stateAfter as number)?.toMap(), after.get(id)?.toMap());
    }
    // Messages would share their group; every state change makes one, and no more.
    const stats = await cold.state.storageStats();
    assert.ok(stats.groups <= room.events.size + 1);
    assert.ok(stats.bytes / stats.groups < 400, `${stats.bytes / stats.groups} bytes a group`);
  });

  it("answers the auth chain of events from its index", async () => {
    const store = new EventStore(getDb(), new NidCaches());
    const { room, fork } = await storeRoom(store, 5, 3);
    const walk = (ids: readonly string[]): Set<string> => {
      const chain = new Set<string>();
      const stack = ids.flatMap((id) => room.get(id).authEventIds);
      while (stack.length > 0) {
        const id = stack.pop() as string;
        if (chain.has(id)) continue;
        chain.add(id);
        stack.push(...room.get(id).authEventIds);
      }
      return chain;
    };
    const ids = [...fork.state.values()];
    assert.deepEqual(await store.authChain(ids), walk(ids));
    assert.deepEqual(await store.authChain([]), new Set());
  });

  it("reads no more than three groups for any state, however long the room", async () => {
    const store = new EventStore(getDb(), new NidCaches());
    const { after } = await storeRoom(store, 50, 400);
    const levels = new Set([...after.values()].map((s) => s.level));
    assert.ok(levels.has(2) && levels.has(0));
    for (const snapshot of after.values()) {
      let depth = 0;
      for (let s: StateSnapshot | undefined = snapshot; s !== undefined; s = s.base) depth++;
      assert.ok(depth <= 3);
    }
  });
});
