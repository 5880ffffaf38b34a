import assert from "node:assert/strict";
import { it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { EventStore } from "../../../src/storage/stores/events.ts";
import type { EventRecord, RoomStreamEntry } from "../../../src/storage/stores/events.ts";
import { NidCaches } from "../../../src/storage/stores/nid-cache.ts";
import { StateSnapshot } from "../../../src/storage/stores/state-snapshot.ts";
import { createRoom } from "../../core/state-res/fixtures.ts";
import { forEachEngine } from "../engines.ts";

const v11 = getRoomVersion("11");

let rooms = 0;

/**
 * A small room's events (create, joins, messages), each with its state before and after. Signed,
 * with a clock of their own, so that each room's event IDs differ from the other tests'.
 */
function roomRecords(members: number, messages: number): EventRecord[] {
  if (v11 === undefined) throw new Error("no v11");
  const { room, fork } = createRoom(v11, { clockStart: 1_700_000_000_000 + ++rooms * 1_000_000_000 });
  for (let i = 0; i < members; i++) room.join(fork, `@m${i}:example.org`);
  for (let i = 0; i < messages; i++) {
    room.send(fork, { type: "m.room.message", sender: `@m${i % members}:example.org`, content: { msgtype: "m.text", body: `hello ${i}` } });
  }
  const after = new Map<string, StateSnapshot>();
  const records: EventRecord[] = [];
  for (const event of room.events.values()) {
    const before = event.prevEventIds.length === 0 ? StateSnapshot.empty() : (after.get(event.prevEventIds[0] as string) as StateSnapshot);
    const stateAfter = event.stateKey === undefined ? before : before.apply(new Map([[stateMapKey(event.type, event.stateKey), event.eventId]]));
    after.set(event.eventId, stateAfter);
    records.push(record(event, before, stateAfter));
  }
  return records;
}

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

async function persist(store: EventStore, roomId: string, events: readonly EventRecord[], stream: readonly string[]) {
  return await store.persist({ roomId, roomVersion: "11", events, stream, applyRedactions: [], pendingRedactions: [], settledRedactions: [], now: 1 });
}

/** The last position of the room stream so far (the suite's tests share the database). */
async function streamEnd(store: EventStore): Promise<number> {
  let position = 0;
  for (;;) {
    const page = await store.streamSince(position, 1000);
    if (page.length === 0) return position;
    position = (page.at(-1) as RoomStreamEntry).streamOrdering;
  }
}

forEachEngine("EventStore", (getDb) => {
  it("reads the room stream across rooms after a position, in order, in pages", async () => {
    const store = new EventStore(getDb(), new NidCaches());
    const start = await streamEnd(store);
    const a = roomRecords(3, 4);
    const b = roomRecords(2, 3);
    // Interleaved batches of the two rooms; one event of each kept out of the timeline.
    const expected: Array<{ roomId: string; record: EventRecord }> = [];
    const write = async (roomId: string, events: EventRecord[], skip?: string): Promise<void> => {
      const stream = events.map((e) => e.eventId).filter((id) => id !== skip);
      const written = await persist(store, roomId, events, stream);
      for (const e of events) if (e.eventId !== skip) expected.push({ roomId, record: e });
      assert.equal(written.streamOrderings.size, stream.length);
    };
    await write("!stream-a:example.org", a.slice(0, 5));
    await write("!stream-b:example.org", b.slice(0, 6), b[5]?.eventId);
    await write("!stream-a:example.org", a.slice(5));
    await write("!stream-b:example.org", b.slice(6));

    const all = await store.streamSince(start, 1000);
    assert.deepEqual(
      all.map((e) => [e.roomId, e.eventId, e.type, e.stateKey]),
      expected.map(({ roomId, record: r }) => [roomId, r.eventId, r.type, r.stateKey]),
    );
    // Positions strictly increase, and are the ones persist returned.
    for (let i = 1; i < all.length; i++) assert.ok((all[i] as RoomStreamEntry).streamOrdering > (all[i - 1] as RoomStreamEntry).streamOrdering);
    const stateEntry = all.find((e) => e.type === "m.room.create");
    assert.equal(stateEntry?.stateKey, "");
    assert.equal(all.find((e) => e.type === "m.room.message")?.stateKey, undefined);

    // Paging: from each position, the rest, `limit` at a time.
    const paged: RoomStreamEntry[] = [];
    for (let position = start; ; ) {
      const page = await store.streamSince(position, 4);
      assert.ok(page.length <= 4);
      if (page.length === 0) break;
      paged.push(...page);
      position = (page.at(-1) as RoomStreamEntry).streamOrdering;
    }
    assert.deepEqual(paged, all);
    const middle = all[7] as RoomStreamEntry;
    assert.deepEqual(await store.streamSince(middle.streamOrdering, 1000), all.slice(8));
    assert.deepEqual(await store.streamSince((all.at(-1) as RoomStreamEntry).streamOrdering, 10), []);
  });
});
