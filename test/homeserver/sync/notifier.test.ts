import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import fc from "fast-check";
import { Notifier, type WakeReason } from "../../../src/homeserver/sync/notifier.ts";
import { STREAMS, ZERO_POSITIONS, type StreamName, type StreamPositions } from "../../../src/homeserver/sync/token.ts";
import { FakeClock } from "./fake-clock.ts";

const at = (p: Partial<StreamPositions>): StreamPositions => ({ ...ZERO_POSITIONS, ...p });

// The promise's outcome so far, without waiting for it: "pending" until it settles.
function track(promise: Promise<WakeReason>): { readonly state: WakeReason | "pending" } {
  const box: { state: WakeReason | "pending" } = { state: "pending" };
  void promise.then((reason) => (box.state = reason));
  return box;
}
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function assertEmpty(notifier: Notifier, clock: FakeClock): void {
  const stats = notifier.stats();
  assert.equal(stats.waiters, 0);
  assert.equal(stats.indexedUsers, 0);
  assert.equal(stats.indexedRooms, 0);
  assert.equal(clock.pending, 0);
}

describe("Notifier", () => {
  it("close ends every wait at once, and later waits do not wait", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const byUser = track(n.waitForChanges("@a:x", [], at({}), 30_000));
    const byRoom = track(n.waitForChanges("@b:x", ["!r:x"], at({}), 30_000));
    n.close();
    await settle();
    assert.deepEqual([byUser.state, byRoom.state], ["aborted", "aborted"]);
    assertEmpty(n, clock);
    assert.equal(await n.waitForChanges("@a:x", [], at({}), 30_000), "aborted");
    assertEmpty(n, clock);
  });

  it("wakes a waiter when a later position names its user", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const wait = track(n.waitForChanges("@a:x", [], at({ toDevice: 5 }), 30_000));
    n.notify("toDevice", 5, { userIds: ["@a:x"] }); // not after since
    n.notify("toDevice", 6, { userIds: ["@b:x"] }); // someone else
    await settle();
    assert.equal(wait.state, "pending");
    n.notify("toDevice", 6, { userIds: ["@a:x"] });
    await settle();
    assert.equal(wait.state, "changed");
    assertEmpty(n, clock);
  });

  it("a notify for a room wakes only that room's waiters", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const inA = track(n.waitForChanges("@a:x", ["!a:x"], at({ roomEvents: 10 }), 30_000));
    const inB = track(n.waitForChanges("@b:x", ["!b:x"], at({ roomEvents: 10 }), 30_000));
    const inBoth = track(n.waitForChanges("@c:x", ["!a:x", "!b:x"], at({ roomEvents: 10 }), 30_000));
    n.notify("roomEvents", 11, { roomIds: ["!a:x"] });
    await settle();
    assert.deepEqual([inA.state, inB.state, inBoth.state], ["changed", "pending", "changed"]);
    assert.deepEqual(n.stats(), { waiters: 1, indexedUsers: 1, indexedRooms: 1, rememberedUsers: 0, rememberedRooms: 1 });
    clock.advance(30_000);
    await settle();
    assert.equal(inB.state, "timeout");
    assertEmpty(n, clock);
  });

  it("compares each stream with its own position", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const wait = track(n.waitForChanges("@a:x", ["!r:x"], at({ roomEvents: 100, typing: 3 }), 1000));
    n.notify("roomEvents", 50, { roomIds: ["!r:x"] });
    await settle();
    assert.equal(wait.state, "pending");
    n.notify("typing", 4, { roomIds: ["!r:x"] });
    await settle();
    assert.equal(wait.state, "changed");
  });

  it("loses no wake-up between a reader's read and its wait", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    n.notify("roomEvents", 7, { roomIds: ["!r:x"] });
    // A reader reads the room at position 7, and while its read is in flight an event at 8 lands.
    let finishRead!: () => void;
    const read = new Promise<void>((resolve) => (finishRead = resolve));
    const reader = (async () => {
      const since = n.currentPositions(); // what the read saw
      await read;
      return n.waitForChanges("@a:x", ["!r:x"], since, 30_000);
    })();
    n.notify("roomEvents", 8, { roomIds: ["!r:x"] });
    finishRead();
    assert.equal(await reader, "changed");
    assertEmpty(n, clock); // it never even set a timer
  });

  it("remembers changes for a user it has no waiter for yet", async () => {
    const n = new Notifier({ clock: new FakeClock() });
    n.notify("accountData", 3, { userIds: ["@a:x"] });
    assert.equal(await n.waitForChanges("@a:x", [], at({ accountData: 2 }), 30_000), "changed");
    assert.equal(n.hasChangesSince("@a:x", [], at({ accountData: 3 })), false);
  });

  it("times out, leaving no waiter, timer or index entry behind", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const waits = Array.from({ length: 5 }, (_, i) => n.waitForChanges(`@u${i}:x`, ["!r:x", `!own${i}:x`], ZERO_POSITIONS, 1000 * (i + 1)));
    assert.equal(n.stats().waiters, 5);
    clock.advance(5000);
    assert.deepEqual(await Promise.all(waits), Array(5).fill("timeout"));
    assertEmpty(n, clock);
  });

  it("answers at once with a zero timeout", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    assert.equal(await n.waitForChanges("@a:x", ["!r:x"], ZERO_POSITIONS, 0), "timeout");
    assertEmpty(n, clock);
  });

  it("ends on abort, leaving no waiter, timer or abort listener behind", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const controller = new AbortController();
    const wait = n.waitForChanges("@a:x", ["!r:x"], ZERO_POSITIONS, 30_000, controller.signal);
    assert.equal(getEventListeners(controller.signal, "abort").length, 1);
    controller.abort();
    assert.equal(await wait, "aborted");
    assertEmpty(n, clock);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    assert.equal(await n.waitForChanges("@a:x", [], ZERO_POSITIONS, 30_000, controller.signal), "aborted");
    assertEmpty(n, clock);
  });

  it("removes the abort listener when woken or timed out", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const controller = new AbortController();
    const woken = n.waitForChanges("@a:x", [], ZERO_POSITIONS, 30_000, controller.signal);
    const timed = n.waitForChanges("@b:x", [], ZERO_POSITIONS, 10, controller.signal);
    n.notify("presence", 1, { userIds: ["@a:x"] });
    clock.advance(10);
    assert.deepEqual(await Promise.all([woken, timed]), ["changed", "timeout"]);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    assertEmpty(n, clock);
  });

  it("a notify naming nobody is a broadcast", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const a = n.waitForChanges("@a:x", [], ZERO_POSITIONS, 30_000);
    const b = n.waitForChanges("@b:x", ["!r:x"], ZERO_POSITIONS, 30_000);
    n.notify("deviceLists", 1);
    assert.deepEqual(await Promise.all([a, b]), ["changed", "changed"]);
    assert.equal(await n.waitForChanges("@c:x", [], ZERO_POSITIONS, 30_000), "changed");
    // Naming an empty set of users is not a broadcast.
    const c = track(n.waitForChanges("@c:x", [], at({ deviceLists: 1 }), 30_000));
    n.notify("deviceLists", 2, { userIds: [] });
    await settle();
    assert.equal(c.state, "pending");
  });

  it("forgets the least recently notified beyond its bound, erring towards waking", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock, maxRemembered: 2 });
    n.notify("roomEvents", 1, { roomIds: ["!a:x"] });
    n.notify("roomEvents", 2, { roomIds: ["!b:x"] });
    n.notify("roomEvents", 3, { roomIds: ["!c:x"] }); // !a:x forgotten: the floor is now 1
    assert.equal(n.stats().rememberedRooms, 2);
    assert.equal(n.hasChangesSince("@u:x", ["!a:x"], ZERO_POSITIONS), true); // spurious but safe
    assert.equal(n.hasChangesSince("@u:x", ["!a:x"], at({ roomEvents: 1 })), false);
    assert.equal(n.hasChangesSince("@u:x", ["!c:x"], at({ roomEvents: 2 })), true);
  });

  it("wakes a waiter iff a notify after its since concerns it (any interleaving)", async () => {
    const users = ["@a:x", "@b:x", "@c:x"];
    const rooms = ["!r1:x", "!r2:x", "!r3:x"];
    const stream = fc.constantFrom<StreamName>(...STREAMS);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("wait" as const),
        userId: fc.constantFrom(...users),
        roomIds: fc.subarray(rooms),
        since: fc.record(Object.fromEntries(STREAMS.map((s) => [s, fc.nat(6)])) as Record<StreamName, fc.Arbitrary<number>>),
      }),
      fc.record({
        kind: fc.constant("notify" as const),
        stream,
        position: fc.nat(8),
        userIds: fc.option(fc.subarray(users), { nil: undefined }),
        roomIds: fc.option(fc.subarray(rooms), { nil: undefined }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const clock = new FakeClock();
        const n = new Notifier({ clock });
        type Wait = Extract<(typeof ops)[number], { kind: "wait" }>;
        type Notify = Extract<(typeof ops)[number], { kind: "notify" }>;
        const notifies: Notify[] = [];
        // The model: a wait is woken iff some notify, before or after it began, is after its since
        // on that stream and names its user or one of its rooms (or names nobody: a broadcast).
        const concerns = (w: Wait, x: Notify): boolean =>
          x.position > w.since[x.stream] &&
          ((x.userIds === undefined && x.roomIds === undefined) ||
            (x.userIds ?? []).includes(w.userId) ||
            (x.roomIds ?? []).some((r) => w.roomIds.includes(r)));
        const waits: { wait: Wait; promise: Promise<WakeReason> }[] = [];
        for (const o of ops) {
          if (o.kind === "notify") {
            notifies.push(o);
            n.notify(o.stream, o.position, { userIds: o.userIds, roomIds: o.roomIds });
          } else {
            waits.push({ wait: o, promise: n.waitForChanges(o.userId, o.roomIds, { ...o.since }, 60_000) });
          }
        }
        clock.advance(60_000);
        const reasons = await Promise.all(waits.map((w) => w.promise));
        waits.forEach(({ wait }, i) => {
          assert.equal(reasons[i], notifies.some((x) => concerns(wait, x)) ? "changed" : "timeout", `wait ${i}`);
        });
        assertEmpty(n, clock);
      }),
      { numRuns: 500 },
    );
  });
});

describe("Notifier timeouts", () => {
  it("caps a huge timeout instead of firing at once", async () => {
    const clock = new FakeClock();
    const n = new Notifier({ clock });
    const wait = track(n.waitForChanges("@a:x", [], ZERO_POSITIONS, Number.POSITIVE_INFINITY));
    clock.advance(2 ** 31 - 2);
    await settle();
    assert.equal(wait.state, "pending");
    clock.advance(1);
    await settle();
    assert.equal(wait.state, "timeout");
  });
});
