/**
 * The batched reads of sync: asks of one turn answered together, events kept without losing any to
 * eviction mid-read, and the recent timelines answering exactly as storage would.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { RoomEventInfo, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import { Batcher, EventLoader, mapLimit } from "../../../src/homeserver/sync/batching.ts";
import { RecentEvents } from "../../../src/homeserver/sync/recent-events.ts";
import type { SyncTimeline, TimelineEntry } from "../../../src/homeserver/sync/sources.ts";

function info(eventId: string, roomId = "!r:hs"): RoomEventInfo {
  const event = { eventId, roomId, type: "m.room.message", stateKey: undefined, sender: "@a:hs", content: {} } as unknown as RoomEvent;
  return { event, outlier: false, backfilled: false, softFailed: false, rejectedReason: undefined, redactedBy: undefined, streamOrdering: undefined };
}

describe("Batcher", () => {
  it("answers the asks of one turn with one load", async () => {
    const loads: string[][] = [];
    const batcher = new Batcher<string, number>(async (keys) => {
      loads.push([...keys]);
      return new Map(keys.map((k) => [k, k.length]));
    });
    const [a, b] = await Promise.all([batcher.get(["x", "yy"]), batcher.get(["yy", "zzz"])]);
    assert.equal(loads.length, 1);
    assert.deepEqual(loads[0]?.sort(), ["x", "yy", "zzz"]);
    assert.equal(a.get("x"), 1);
    assert.equal(b.get("zzz"), 3);
    await batcher.get(["w"]);
    assert.equal(loads.length, 2, "a later turn loads again");
  });
});

describe("EventLoader", () => {
  it("returns every event asked for, in order, though other reads push kept ones out meanwhile", async () => {
    let bulkReads = 0;
    const loader = new EventLoader({
      one: async (id) => info(id),
      many: async (ids) => {
        bulkReads++;
        return new Map(ids.map((id) => [id, info(id)]));
      },
    });
    // Keep a few, then ask for them together with enough others to push them out of what is kept.
    await loader.getEvents(["$k1", "$k2"]);
    const many = Array.from({ length: 25_000 }, (_, i) => `$n${i}`);
    const [kept, others] = await Promise.all([loader.getEvents(["$k1", "$missing-later", "$k2"]), loader.getEvents(many)]);
    assert.deepEqual(kept.map((e) => e.event.eventId), ["$k1", "$missing-later", "$k2"]);
    assert.equal(others.length, many.length);
    assert.ok(bulkReads >= 1);
  });

  it("reads an event again once it is forgotten (a redaction changed it)", async () => {
    let reads = 0;
    const loader = new EventLoader({ one: async (id) => (reads++, info(id)), many: async (ids) => new Map(ids.map((id) => [id, info(id)])) });
    await loader.getEvents(["$e"]);
    await loader.getEvents(["$e"]);
    assert.equal(reads, 1);
    loader.forget("$e");
    await loader.getEvents(["$e"]);
    assert.equal(reads, 2);
  });
});

describe("mapLimit", () => {
  it("keeps the order and never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0]);
    assert.equal(most, 2);
  });
});

/** Storage's answer: every entry of the room. */
class StoredTimeline implements SyncTimeline {
  readonly entries = new Map<string, TimelineEntry[]>();
  reads = 0;
  async entriesBetween(roomId: string, from: number, to: number | undefined, limit: number, direction: "f" | "b"): Promise<TimelineEntry[]> {
    this.reads++;
    const range = (this.entries.get(roomId) ?? []).filter((e) => e.streamOrdering > from && (to === undefined || e.streamOrdering <= to));
    return (direction === "f" ? range : range.reverse()).slice(0, limit);
  }
  async latestPosition(): Promise<number> {
    return 0;
  }
  async getEvents(): Promise<RoomEventInfo[]> {
    return [];
  }
}

describe("RecentEvents", () => {
  it("answers every range exactly as storage does, whatever was written before and after it started", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(2), { minLength: 150, maxLength: 400 }),
        fc.nat(50),
        fc.array(fc.record({ room: fc.nat(2), from: fc.nat(420), span: fc.nat(420), limit: fc.integer({ min: 1, max: 80 }), dir: fc.constantFrom("f" as const, "b" as const) }), { maxLength: 20 }),
        async (rooms, before, queries) => {
          const stored = new StoredTimeline();
          let recent: RecentEvents | undefined;
          rooms.forEach((room, i) => {
            const position = i + 1;
            const roomId = `!${room}:hs`;
            const entry = { streamOrdering: position, eventId: `$${position}` };
            stored.entries.set(roomId, [...(stored.entries.get(roomId) ?? []), entry]);
            // The outputs are heard from the head at start on.
            if (i === before) recent = new RecentEvents(stored, i);
            recent?.receive({ kind: "new_room_event", roomId, event: info(entry.eventId, roomId).event, streamOrdering: position, local: true, stateDelta: new Map(), forwardExtremities: [] } as RoomserverOutput);
          });
          recent ??= new RecentEvents(stored, rooms.length);
          for (const q of queries) {
            const roomId = `!${q.room}:hs`;
            const to = q.from + q.span;
            assert.deepEqual(await recent.entriesBetween(roomId, q.from, to, q.limit, q.dir), await stored.entriesBetween(roomId, q.from, to, q.limit, q.dir));
            assert.deepEqual(await recent.entriesBetween(roomId, q.from, undefined, q.limit, q.dir), await stored.entriesBetween(roomId, q.from, undefined, q.limit, q.dir));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
