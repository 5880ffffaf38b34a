// The search indexer against a fake room engine and store: the catch-up (from the very start on a
// first run, redactions read back), live outputs written together off the send path, outputs heard
// during the catch-up kept for after it, the position, backfilled history, a failed write and a
// failed catch-up.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { STREAM_START } from "../../../src/homeserver/events/timeline.ts";
import type { RoomEventInfo, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import { SearchIndexer } from "../../../src/homeserver/search/indexer.ts";
import type { SearchIndexWrite } from "../../../src/storage/stores/search.ts";

function event(eventId: string, type: string, content: JsonObject, stateKey?: string): RoomEvent {
  return { eventId, roomId: "!r:x", type, stateKey, sender: "@a:x", content, originServerTs: 5, redacts: content["redacts"] } as unknown as RoomEvent;
}

const message = (id: string, body: string) => event(id, "m.room.message", { msgtype: "m.text", body });

function info(e: RoomEvent, streamOrdering: number, redactedBy?: string): RoomEventInfo {
  return { event: e, outlier: false, backfilled: false, softFailed: false, rejectedReason: undefined, redactedBy, streamOrdering };
}

class Fakes {
  listener: ((output: RoomserverOutput) => void) | undefined;
  readonly events = new Map<string, RoomEventInfo>();
  readonly stream: Array<{ streamOrdering: number; eventId: string; type: string }> = [];
  readonly writes: SearchIndexWrite[] = [];
  readonly asked: number[] = [];
  stored: number | undefined;
  /** Resolves the catch-up's reads when set (to hold the catch-up open). */
  gate: Promise<void> = Promise.resolve();
  failReads = false;
  failWrites = 0;

  put(e: RoomEvent, streamOrdering: number, redactedBy?: string): void {
    this.events.set(e.eventId, info(e, streamOrdering, redactedBy));
    this.stream.push({ streamOrdering, eventId: e.eventId, type: e.type });
  }

  indexer(): SearchIndexer {
    return new SearchIndexer({
      roomserver: {
        subscribe: (listener) => {
          this.listener = listener;
          return () => (this.listener = undefined);
        },
        getEvent: (id) => Promise.resolve(this.events.get(id)),
      },
      store: {
        position: () => Promise.resolve(this.stored),
        write: (write) => {
          if (this.failWrites > 0) {
            this.failWrites--;
            return Promise.reject(new Error("the disk is full"));
          }
          this.writes.push(write);
          return Promise.resolve();
        },
      },
      streamSince: async (position, limit) => {
        this.asked.push(position);
        await this.gate;
        if (this.failReads) throw new Error("the database is gone");
        return this.stream.filter((e) => e.streamOrdering > position).slice(0, limit);
      },
      flushDelayMs: 60_000,
    });
  }

  emit(e: RoomEvent, streamOrdering: number, extra: Partial<RoomserverOutput> = {}): void {
    this.listener?.({ kind: "new_room_event", roomId: e.roomId, event: e, streamOrdering, local: true, stateDelta: new Map(), forwardExtremities: [], ...extra } as RoomserverOutput);
  }

  added(): string[] {
    return this.writes.flatMap((w) => w.add.map((a) => a.eventId));
  }
}

describe("SearchIndexer", () => {
  it("catches up from the very start on a first run: backfilled history, searchable events only, redactions read back", async () => {
    const fakes = new Fakes();
    fakes.put(message("$old", "backfilled words"), -3);
    fakes.put(event("$member", "m.room.member", { membership: "join" }, "@a:x"), 1);
    fakes.put(message("$gone", "redacted later"), 2, "$redaction");
    fakes.put(message("$later", "kept words"), 3);
    fakes.put(event("$topic", "m.room.topic", { topic: "a topic" }, ""), 4);
    fakes.put(event("$redaction", "m.room.redaction", { redacts: "$gone" }), 5);
    const indexer = fakes.indexer();
    await indexer.start();
    await indexer.settled();
    assert.equal(fakes.asked[0], STREAM_START);
    assert.deepEqual(fakes.added(), ["$old", "$later", "$topic"]);
    assert.deepEqual(fakes.writes.flatMap((w) => w.remove), ["$gone"]);
    assert.equal(fakes.writes.at(-1)?.position, 5);
    await indexer.close();
  });

  it("reads on from the stored position", async () => {
    const fakes = new Fakes();
    fakes.put(message("$before", "indexed before"), 1);
    fakes.put(message("$after", "not yet"), 2);
    fakes.stored = 1;
    const indexer = fakes.indexer();
    await indexer.settled();
    assert.deepEqual(fakes.asked.slice(0, 1), [1]);
    assert.deepEqual(fakes.added(), ["$after"]);
    await indexer.close();
  });

  it("writes live outputs together, off the send path, and removes redacted events", async () => {
    const fakes = new Fakes();
    const indexer = fakes.indexer();
    await indexer.start();
    const before = fakes.writes.length;
    fakes.emit(message("$1", "one"), 10);
    fakes.emit(message("$2", "two"), 11);
    fakes.emit(event("$m", "m.room.member", { membership: "join" }, "@b:x"), 12);
    fakes.emit(event("$oob", "m.room.message", { body: "out of band" }), 13, { outOfBand: true });
    fakes.listener?.({ kind: "redaction_applied", roomId: "!r:x", redactionEventId: "$red", redactedEventId: "$1" });
    await Promise.resolve();
    assert.equal(fakes.writes.length, before, "nothing is written while an output is heard");
    await indexer.settled();
    assert.equal(fakes.writes.length, before + 1, "one write for them all");
    const write = fakes.writes.at(-1);
    assert.deepEqual(write?.add.map((a) => a.eventId), ["$1", "$2"]);
    assert.deepEqual(write?.remove, ["$1"]);
    assert.equal(write?.position, 13);
    await indexer.close();
  });

  it("writes a large burst in chunks, the removals and the position with the last", async () => {
    const fakes = new Fakes();
    const indexer = fakes.indexer();
    await indexer.start();
    const before = fakes.writes.length;
    for (let i = 1; i <= 600; i++) fakes.emit(message(`$${i}`, `word ${i}`), i);
    fakes.listener?.({ kind: "redaction_applied", roomId: "!r:x", redactionEventId: "$red", redactedEventId: "$5" });
    await indexer.settled();
    const writes = fakes.writes.slice(before);
    assert.deepEqual(writes.map((w) => w.add.length), [256, 256, 88]);
    assert.deepEqual(writes.flatMap((w) => w.add.map((a) => a.eventId)), Array.from({ length: 600 }, (_, i) => `$${i + 1}`), "every event once, in order");
    assert.deepEqual(writes.map((w) => w.remove), [[], [], ["$5"]]);
    assert.deepEqual(writes.map((w) => w.position), [undefined, undefined, 600]);
    await indexer.close();
  });

  it("keeps the stored position behind a burst whose chunk failed", async () => {
    const fakes = new Fakes();
    const indexer = fakes.indexer();
    await indexer.start();
    for (let i = 1; i <= 300; i++) fakes.emit(message(`$${i}`, `word ${i}`), i);
    fakes.failWrites = 1;
    await indexer.settled();
    assert.ok(fakes.writes.every((w) => w.position === undefined), "no position stored past the lost chunk");
    await indexer.close();
    assert.ok(fakes.writes.every((w) => w.position === undefined), "nor at close");
  });

  it("keeps what it hears during the catch-up for after it", async () => {
    const fakes = new Fakes();
    fakes.put(message("$caught", "from the stream"), 1);
    let open: () => void = () => undefined;
    fakes.gate = new Promise((resolve) => (open = resolve));
    const indexer = fakes.indexer();
    const started = indexer.start();
    fakes.emit(message("$live", "heard meanwhile"), 2);
    fakes.listener?.({ kind: "redaction_applied", roomId: "!r:x", redactionEventId: "$r", redactedEventId: "$caught" });
    open();
    await started;
    await indexer.settled();
    assert.deepEqual(fakes.added(), ["$caught", "$live"]);
    const removal = fakes.writes.findIndex((w) => w.remove.includes("$caught"));
    const addition = fakes.writes.findIndex((w) => w.add.some((a) => a.eventId === "$caught"));
    assert.ok(removal > addition, "the redaction comes after the catch-up's write");
    await indexer.close();
  });

  it("indexes backfilled events without moving the position, and stores the position at close", async () => {
    const fakes = new Fakes();
    const indexer = fakes.indexer();
    await indexer.settled();
    await indexer.indexBackfilled([{ event: message("$b", "history"), streamOrdering: -7 }, { event: event("$c", "m.room.create", {}, ""), streamOrdering: -8 }]);
    assert.deepEqual(fakes.writes.at(-1), { add: [{ eventId: "$b", roomId: "!r:x", sender: "@a:x", key: "content.body", value: "history", containsUrl: false, streamOrdering: -7, originServerTs: 5 }], remove: [], position: undefined });
    fakes.emit(event("$m", "m.room.member", { membership: "join" }, "@b:x"), 40);
    await indexer.close();
    assert.deepEqual(fakes.writes.at(-1), { add: [], remove: [], position: 40 });
  });

  it("after a failed write, indexes on but leaves the stored position for the next start", async () => {
    const fakes = new Fakes();
    const indexer = fakes.indexer();
    await indexer.settled();
    fakes.failWrites = 1;
    fakes.emit(message("$lost", "not written"), 20);
    await indexer.settled();
    fakes.emit(message("$next", "written"), 21);
    await indexer.settled();
    await indexer.close();
    assert.deepEqual(fakes.added(), ["$next"]);
    assert.ok(fakes.writes.every((w) => w.position === undefined || w.position < 20), "the position stays before the lost write");
  });

  it("after a failed catch-up, indexes live outputs but leaves the stored position for the next start", async () => {
    const fakes = new Fakes();
    fakes.failReads = true;
    const indexer = fakes.indexer();
    await indexer.start();
    fakes.emit(message("$live", "still indexed"), 9);
    await indexer.settled();
    assert.deepEqual(fakes.added(), ["$live"]);
    assert.equal(fakes.writes.at(-1)?.position, undefined);
    await indexer.close();
    assert.ok(fakes.writes.every((w) => w.position === undefined));
  });
});
