// The building blocks: the heap, event ID order, the reverse topological power ordering and the
// mainline ordering (rooms/fragments/v2-state-res.md "Definitions"), the auth graph walk.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { compareCodePoints } from "../../../src/core/state-res/compare.ts";
import { EventGraph } from "../../../src/core/state-res/graph.ts";
import { IndexHeap } from "../../../src/core/state-res/heap.ts";
import { loadPowerLevelChains, mainlineOrdering, reverseTopologicalPowerOrdering } from "../../../src/core/state-res/ordering.ts";
import { createRoom, memorySource, user } from "./fixtures.ts";

const v11 = getRoomVersion("11") as RoomVersion;
const v12 = getRoomVersion("12") as RoomVersion;
const alice = user("alice");
const bob = user("bob");
const carol = user("carol");

describe("IndexHeap", () => {
  it("pops in the order of its comparison", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 })), (values) => {
        const heap = new IndexHeap((a, b) => (values[a] as number) < (values[b] as number) || (values[a] === values[b] && a < b));
        for (const i of values.keys()) heap.push(i);
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop());
        const expected = [...values.keys()].sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
        assert.deepEqual(out, expected);
        assert.equal(heap.pop(), -1);
      }),
    );
  });
});

describe("compareCodePoints", () => {
  it("orders strings as their UTF-8 bytes (Unicode code points) do", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
    assert.ok(compareCodePoints("\u{10000}", "\uffff") > 0); // UTF-16 order would say the opposite
  });
});

/** Loads the given events (and what they cite) into a graph and returns their indices. */
async function graphOf(events: Map<string, RoomEvent>, version: RoomVersion, ids: string[]): Promise<{ graph: EventGraph; idx: number[] }> {
  const graph = new EventGraph(memorySource(events), version);
  const idx = ids.map((id) => graph.intern(id));
  await graph.loadClosure(idx);
  return { graph, idx };
}

describe("reverse topological power ordering", () => {
  it("sorts by sender power level descending, then origin_server_ts, then event_id, after auth events", async () => {
    const { room, fork } = createRoom(v11, { users: { [bob]: 50, [carol]: 50 } });
    room.join(fork, bob);
    room.join(fork, carol);
    const topic = (sender: string, ts: number, extraAuth: string[] = []): RoomEvent => {
      const e = room.send(fork.clone(), { type: "m.room.topic", stateKey: "", sender, content: { topic: `${sender}@${ts}` }, ts });
      if (extraAuth.length === 0) return e;
      return room.send(fork.clone(), {
        type: "m.room.topic",
        stateKey: "",
        sender,
        content: { topic: `${sender}@${ts}+` },
        ts,
        authEvents: [...e.authEventIds, ...extraAuth],
        unchecked: true,
      });
    };
    const bob10 = topic(bob, 10);
    const alice30 = topic(alice, 30);
    const carol10 = topic(carol, 10);
    const alice20 = topic(alice, 20);
    const carolAfterAlice30 = topic(carol, 0, [alice30.eventId]); // earliest timestamp, but cites alice30
    const events = [bob10, alice30, carol10, alice20, carolAfterAlice30];
    const { graph, idx } = await graphOf(room.events, v11, events.map((e) => e.eventId));
    const member = new Uint8Array(graph.size);
    for (const i of idx) member[i] = 1;
    const sorted = reverseTopologicalPowerOrdering(graph, [...idx].reverse(), member).map((i) => graph.idOf(i));
    const [first50, second50] = [bob10, carol10].sort((x, y) => compareCodePoints(x.eventId, y.eventId));
    assert.deepEqual(sorted, [alice20, alice30, carolAfterAlice30, first50, second50].map((e) => e?.eventId));
  });

  it("in room version 12, a creator's events come before those of any power level", async () => {
    const { room, fork, creator } = createRoom(v12, { users: { [bob]: 100 } });
    room.join(fork, bob);
    const byBob = room.send(fork.clone(), { type: "m.room.topic", stateKey: "", sender: bob, content: { topic: "b" }, ts: 1 });
    const byCreator = room.send(fork.clone(), { type: "m.room.topic", stateKey: "", sender: creator, content: { topic: "a" }, ts: 2 });
    const { graph, idx } = await graphOf(room.events, v12, [byBob.eventId, byCreator.eventId]);
    const member = new Uint8Array(graph.size);
    for (const i of idx) member[i] = 1;
    const sorted = reverseTopologicalPowerOrdering(graph, idx, member).map((i) => graph.idOf(i));
    assert.deepEqual(sorted, [byCreator.eventId, byBob.eventId]);
  });
});

describe("mainline ordering", () => {
  it("puts the events based on earlier mainline power levels first, those off the mainline before all", async () => {
    const { room, fork, creator } = createRoom(v11);
    const p1 = fork.get("m.room.power_levels") as string;
    const side = fork.clone();
    room.powerLevels(fork, creator, { [creator]: 100, [bob]: 1 });
    const p2 = fork.get("m.room.power_levels") as string;
    room.powerLevels(fork, creator, { [creator]: 100, [bob]: 2 });
    const p3 = fork.get("m.room.power_levels") as string;
    const offMainline = room.powerLevels(side, creator, { [creator]: 100, [bob]: 9 }); // cites P1
    const cite = (pl: string | undefined, ts: number, text: string): RoomEvent => {
      const authEvents = [fork.get("m.room.create") as string, fork.get("m.room.member", creator) as string];
      if (pl !== undefined) authEvents.push(pl);
      return room.send(fork.clone(), { type: "m.room.topic", stateKey: "", sender: creator, content: { topic: text }, ts, authEvents, unchecked: true });
    };
    const onP3 = cite(p3, 1, "p3");
    const onP2 = cite(p2, 2, "p2");
    const onP1 = cite(p1, 5, "p1");
    const onSide = cite(offMainline.eventId, 4, "side"); // side -> P1: position of P1
    const noPower = cite(undefined, 9, "none");
    const events = [onP3, onP2, onP1, onSide, noPower];
    const { graph, idx } = await graphOf(room.events, v11, [...events.map((e) => e.eventId), p3]);
    const pl = graph.indexOf(p3) as number;
    await loadPowerLevelChains(graph, [pl, ...idx]);
    const sorted = mainlineOrdering(graph, idx.slice(0, events.length), pl).map((i) => graph.idOf(i));
    assert.deepEqual(sorted, [noPower, onSide, onP1, onP2, onP3].map((e) => e.eventId));
  });
});

describe("EventGraph", () => {
  it("batches fetches by level, caches what it got, and treats wrong answers as missing", async () => {
    const { room, fork } = createRoom(v11);
    room.join(fork, bob);
    const source = memorySource(room.events);
    const graph = new EventGraph(source, v11);
    const head = graph.intern(fork.get("m.room.member", bob) as string);
    await graph.loadClosure([head]);
    const calls = source.stats.calls;
    assert.ok(calls <= 4, `${calls} fetches`);
    await graph.loadClosure([head]);
    await graph.load([...room.events.keys()]);
    assert.equal(source.stats.calls, calls);
    for (const id of room.events.keys()) assert.equal(graph.eventById(id)?.eventId, id);

    const liar = new EventGraph(
      { fetchEvents: async (ids) => new Map(ids.map((id) => [id, room.get(fork.get("m.room.create") as string)])) },
      v11,
    );
    const i = liar.intern(fork.get("m.room.member", bob) as string);
    await liar.loadIndices([i]);
    assert.equal(liar.event(i), undefined);
  });

  it("adds the implied create event to the auth edges of room version 12 events", async () => {
    const { room, fork } = createRoom(v12);
    const create = fork.get("m.room.create") as string;
    const graph = new EventGraph(memorySource(room.events), v12);
    const pl = graph.intern(fork.get("m.room.power_levels") as string);
    await graph.loadClosure([pl]);
    assert.ok(!room.get(graph.idOf(pl)).authEventIds.includes(create));
    assert.ok(graph.edges(pl).map((i) => graph.idOf(i)).includes(create));
    assert.deepEqual(graph.edges(graph.indexOf(create) as number), []);
  });

  it("orders nodes after their auth events, and survives forged auth cycles", async () => {
    const events = new Map<string, RoomEvent>();
    const { room, fork } = createRoom(getRoomVersion("2") as RoomVersion);
    const base = room.get(fork.get("m.room.create") as string);
    const make = (eventId: string, authEventIds: string[]): RoomEvent => ({ ...base, eventId, authEventIds, type: "m.room.topic" });
    for (const e of [make("$a:x", ["$b:x"]), make("$b:x", ["$c:x"]), make("$c:x", ["$a:x"]), make("$d:x", ["$a:x"])]) events.set(e.eventId, e);
    const graph = new EventGraph(memorySource(events), base.roomVersion);
    const d = graph.intern("$d:x");
    await graph.loadClosure([d]);
    const order = [...graph.authFirstOrder([d])].map((i) => graph.idOf(i));
    assert.equal(order.length, 4);
    assert.equal(order[order.length - 1], "$d:x");
  });
});
