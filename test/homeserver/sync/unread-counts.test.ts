/**
 * UnreadCounter against a brute-force count: whatever mix of messages, threads, mentions, receipts,
 * redactions and syncs (in any order of `to`), its counts are those of counting every event again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { RoomEventInfo, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import type { ReadUpTo } from "../../../src/homeserver/sync/receipts.ts";
import type { SyncTimeline, TimelineEntry } from "../../../src/homeserver/sync/sources.ts";
import { UnreadCounter, type UnreadCounts } from "../../../src/homeserver/sync/unread-counts.ts";

const ROOM = "!room:test";
const ME = "@me:test";
const USERS = [ME, "@a:test", "@b:test"];

interface Fake {
  readonly streamOrdering: number;
  readonly info: RoomEventInfo;
}

function fakeEvent(streamOrdering: number, sender: string, content: JsonObject, type = "m.room.message"): Fake {
  const event = { eventId: `$e${streamOrdering}`, roomId: ROOM, type, stateKey: undefined, sender, content, originServerTs: 0 } as unknown as RoomEvent;
  return {
    streamOrdering,
    info: { event, outlier: false, backfilled: false, softFailed: false, rejectedReason: undefined, redactedBy: undefined, streamOrdering },
  };
}

/** A timeline over a growing list of events. */
class FakeTimeline implements SyncTimeline {
  readonly events: Fake[] = [];
  readonly redacted = new Set<string>();

  async entriesBetween(_roomId: string, from: number, to: number | undefined, limit: number, direction: "f" | "b"): Promise<TimelineEntry[]> {
    const range = this.events.filter((e) => e.streamOrdering > from && (to === undefined || e.streamOrdering <= to));
    const ordered = direction === "f" ? range : range.reverse();
    return ordered.slice(0, limit).map((e) => ({ streamOrdering: e.streamOrdering, eventId: e.info.event.eventId }));
  }

  async latestPosition(): Promise<number> {
    return this.events.at(-1)?.streamOrdering ?? 0;
  }

  async getEvents(ids: readonly string[]): Promise<RoomEventInfo[]> {
    return ids.flatMap((id) => {
      const found = this.events.find((e) => e.info.event.eventId === id);
      if (found === undefined) return [];
      return [this.redacted.has(id) ? { ...found.info, redactedBy: "$redaction" } : found.info];
    });
  }
}

function bruteForce(timeline: FakeTimeline, after: number, to: number, read: ReadUpTo | undefined, ignored: ReadonlySet<string>, threaded: boolean): UnreadCounts {
  let notifications = 0;
  let highlights = 0;
  const threads = new Map<string, { notification_count: number; highlight_count: number }>();
  for (const { streamOrdering, info } of timeline.events) {
    const { event } = info;
    if (streamOrdering <= after || streamOrdering > to || event.sender === ME || ignored.has(event.sender)) continue;
    if (timeline.redacted.has(event.eventId) || event.content["msgtype"] === "m.notice") continue;
    const relation = event.content["m.relates_to"] as JsonObject | undefined;
    if (relation?.["rel_type"] === "m.replace") continue;
    const thread = relation?.["rel_type"] === "m.thread" ? (relation["event_id"] as string) : undefined;
    const readAt = Math.max(read?.unthreaded ?? 0, read?.threads.get(thread ?? "main") ?? 0);
    if (streamOrdering <= readAt) continue;
    const highlight = ((event.content["m.mentions"] as JsonObject | undefined)?.["user_ids"] as string[] | undefined)?.includes(ME) === true ? 1 : 0;
    if (threaded && thread !== undefined) {
      const t = threads.get(thread) ?? { notification_count: 0, highlight_count: 0 };
      t.notification_count++;
      t.highlight_count += highlight;
      threads.set(thread, t);
    } else {
      notifications++;
      highlights += highlight;
    }
  }
  return { room: { notification_count: notifications, highlight_count: highlights }, threads };
}

type Step =
  | { readonly kind: "message"; readonly sender: number; readonly thread: boolean; readonly mention: boolean; readonly notice: boolean; readonly edit: boolean }
  | { readonly kind: "redact"; readonly pick: number }
  | { readonly kind: "receipt"; readonly pick: number; readonly thread: boolean }
  | { readonly kind: "sync"; readonly back: number; readonly threaded: boolean; readonly ignoreB: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("message" as const), sender: fc.nat(2), thread: fc.boolean(), mention: fc.boolean(), notice: fc.boolean(), edit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("redact" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("receipt" as const), pick: fc.nat(), thread: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("sync" as const), back: fc.nat(3), threaded: fc.boolean(), ignoreB: fc.boolean() }) },
);

describe("UnreadCounter", () => {
  it("counts what a brute-force count over every event counts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 80 }), fc.nat(3), async (steps, joinedAt) => {
        const timeline = new FakeTimeline();
        const counter = new UnreadCounter(timeline);
        const ignoreNone: ReadonlySet<string> = new Set();
        const ignoreB: ReadonlySet<string> = new Set(["@b:test"]);
        let position = joinedAt;
        const read = { unthreaded: 0, threads: new Map<string, number>() };
        const roots: string[] = [];
        for (const s of steps) {
          if (s.kind === "message") {
            position++;
            const content: JsonObject = { msgtype: s.notice ? "m.notice" : "m.text", body: "x" };
            if (s.mention) content["m.mentions"] = { user_ids: [ME] };
            if (s.edit && timeline.events.length > 0) content["m.relates_to"] = { rel_type: "m.replace", event_id: (timeline.events[0] as Fake).info.event.eventId };
            else if (s.thread && roots.length > 0) content["m.relates_to"] = { rel_type: "m.thread", event_id: roots[position % roots.length] as string };
            const fake = fakeEvent(position, USERS[s.sender] as string, content);
            if (!s.thread) roots.push(fake.info.event.eventId);
            timeline.events.push(fake);
            counter.receive({ kind: "new_room_event", roomId: ROOM, event: fake.info.event, streamOrdering: position, local: true, stateDelta: new Map(), forwardExtremities: [] } as RoomserverOutput);
          } else if (s.kind === "redact" && timeline.events.length > 0) {
            const target = timeline.events[s.pick % timeline.events.length] as Fake;
            timeline.redacted.add(target.info.event.eventId);
            counter.receive({ kind: "redaction_applied", roomId: ROOM, redactionEventId: "$redaction", redactedEventId: target.info.event.eventId });
          } else if (s.kind === "receipt" && timeline.events.length > 0) {
            const target = timeline.events[s.pick % timeline.events.length] as Fake;
            const relation = target.info.event.content["m.relates_to"] as JsonObject | undefined;
            const thread = relation?.["rel_type"] === "m.thread" ? (relation["event_id"] as string) : "main";
            if (s.thread) read.threads.set(thread, Math.max(read.threads.get(thread) ?? 0, target.streamOrdering));
            else read.unthreaded = Math.max(read.unthreaded, target.streamOrdering);
          } else if (s.kind === "sync") {
            const to = Math.max(joinedAt, position - s.back);
            const readUpTo: ReadUpTo = { unthreaded: read.unthreaded, threads: new Map(read.threads) };
            const ignored = s.ignoreB ? ignoreB : ignoreNone;
            const got = await counter.counts(ROOM, ME, joinedAt, to, readUpTo, ignored, s.threaded);
            assert.deepEqual(got, bruteForce(timeline, joinedAt, to, readUpTo, ignored, s.threaded));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("UnreadCounter's bound on the events it keeps", () => {
  it("drops the rooms loaded first past the bound, and counts them right when read again", async () => {
    const rooms = new Map([
      ["!one:test", new FakeTimeline()],
      ["!two:test", new FakeTimeline()],
    ]);
    const timeline: SyncTimeline = {
      entriesBetween: (roomId, from, to, limit, direction) => (rooms.get(roomId) as FakeTimeline).entriesBetween(roomId, from, to, limit, direction),
      latestPosition: (roomId) => (rooms.get(roomId) as FakeTimeline).latestPosition(),
      getEvents: async (ids) => (await Promise.all([...rooms.values()].map((t) => t.getEvents(ids)))).flat(),
    } as SyncTimeline;
    const counter = new UnreadCounter(timeline, { maxKeptInAll: 4 });
    const none: ReadonlySet<string> = new Set();
    let position = 0;
    const send = (roomId: string, mention: boolean): Fake => {
      const fake = fakeEvent(++position, "@a:test", { msgtype: "m.text", body: "x", ...(mention ? { "m.mentions": { user_ids: [ME] } } : {}) });
      const event = { ...fake.info.event, roomId, eventId: `$${roomId}${position}` } as RoomEvent;
      const placed = { streamOrdering: position, info: { ...fake.info, event } };
      (rooms.get(roomId) as FakeTimeline).events.push(placed);
      counter.receive({ kind: "new_room_event", roomId, event, streamOrdering: position, local: true, stateDelta: new Map(), forwardExtremities: [] } as RoomserverOutput);
      return placed;
    };
    const count = (roomId: string) => counter.counts(roomId, ME, 0, position, undefined, none, false);
    const first = send("!one:test", true);
    for (let i = 0; i < 3; i++) send("!one:test", false);
    assert.deepEqual((await count("!one:test")).room, { notification_count: 4, highlight_count: 1 });
    for (let i = 0; i < 4; i++) send("!two:test", false);
    // Reading !two's four events takes the kept events past four: !one, loaded first, is dropped.
    assert.deepEqual((await count("!two:test")).room, { notification_count: 4, highlight_count: 0 });
    // Redacted while dropped: read again from storage, !one is counted afresh, not from an old memo.
    (rooms.get("!one:test") as FakeTimeline).redacted.add(first.info.event.eventId);
    assert.deepEqual((await count("!one:test")).room, { notification_count: 3, highlight_count: 0 });
  });
});
