/**
 * RoomHeads: the head a sync token may take never passes a position that is not told yet (rooms
 * commit out of order on PostgreSQL), and a gap no transaction fills is given up on once the room
 * engine went idle, or after the grace period.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import { Notifier } from "../../../src/homeserver/sync/notifier.ts";
import { GAP_GRACE_MS, RoomHeads } from "../../../src/homeserver/sync/room-heads.ts";
import { ZERO_POSITIONS } from "../../../src/homeserver/sync/token.ts";
import { FakeClock } from "./fake-clock.ts";

function output(streamOrdering: number, roomId = "!r:hs"): RoomserverOutput {
  const event = { eventId: `$${streamOrdering}`, roomId, type: "m.room.message", stateKey: undefined, sender: "@a:hs", content: {} } as unknown as RoomEvent;
  return { kind: "new_room_event", roomId, event, streamOrdering, local: true, stateDelta: new Map(), forwardExtremities: [] };
}

describe("RoomHeads", () => {
  it("moves the head only over positions told in full, whatever order they come in", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(Array.from({ length: 40 }, (_, i) => i + 11), { minLength: 40 }), (order) => {
        const clock = new FakeClock();
        const notifier = new Notifier({ clock });
        const heads = new RoomHeads(notifier, 10, async () => 0, { clock });
        const told = new Set<number>();
        for (const position of order) {
          heads.receive(output(position));
          told.add(position);
          // Every position up to the head is told; the next one is not.
          for (let p = 11; p <= heads.head; p++) assert.ok(told.has(p));
          assert.ok(!told.has(heads.head + 1) || heads.head === 50);
          assert.equal(notifier.currentPositions().roomEvents, heads.head === 10 ? 0 : heads.head, "the notifier hears of what the head passed");
        }
        assert.equal(heads.head, 50);
        heads.close();
      }),
    );
  });

  it("gives up on a gap after the grace period", () => {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    const heads = new RoomHeads(notifier, 10, async () => 0, { clock });
    heads.receive(output(11));
    heads.receive(output(13, "!other:hs"));
    assert.equal(heads.head, 11);
    assert.equal(notifier.hasChangesSince("@u:hs", ["!other:hs"], { ...ZERO_POSITIONS, roomEvents: 11 }), false, "not told while it waits");
    clock.advance(GAP_GRACE_MS - 1);
    assert.equal(heads.head, 11);
    clock.advance(1);
    assert.equal(heads.head, 13);
    assert.equal(notifier.hasChangesSince("@u:hs", ["!other:hs"], { ...ZERO_POSITIONS, roomEvents: 11 }), true);
    // Committed after all, behind the head: told, so that waiting readers wake.
    heads.receive(output(12));
    assert.equal(heads.head, 13);
    heads.close();
  });

  it("gives up on a gap once the batches in flight when it was seen have ended, not before", async () => {
    const clock = new FakeClock();
    let ended: () => void = () => undefined;
    const heads = new RoomHeads(new Notifier({ clock }), 10, async () => 0, { clock, batchesInFlight: () => new Promise((resolve) => (ended = resolve)) });
    heads.receive(output(12));
    assert.equal(heads.head, 10);
    // A slow transaction may hold position 11 for long: no timer gives it up meanwhile.
    clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(heads.head, 10);
    ended();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(heads.head, 12);
    assert.equal(clock.pending, 0, "the grace timer is cancelled");
    heads.close();
  });

  it("tells the positions that came in below the gap's output while its batches ended, and goes on", async () => {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    let ended: () => void = () => undefined;
    const heads = new RoomHeads(notifier, 10, async () => 0, { clock, batchesInFlight: () => new Promise((resolve) => (ended = resolve)) });
    heads.receive(output(15)); // a gap at 11: 11 to 14 are in flight
    heads.receive(output(12, "!late:hs")); // 12 commits while the gap waits
    assert.equal(heads.head, 10);
    ended(); // 11, 13 and 14 were rolled back
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(heads.head, 15);
    assert.equal(notifier.hasChangesSince("@u:hs", ["!late:hs"], { ...ZERO_POSITIONS, roomEvents: 11 }), true, "12 is told");
    // Whatever comes next moves the head on (the old jump left 12 below the head, and the gap check spinning).
    heads.receive(output(16));
    assert.equal(heads.head, 16);
    assert.equal(clock.pending, 0);
    heads.close();
  });

  it("keeps an event that lands while the room's position is being read from storage", async () => {
    let answer: (position: number) => void = () => undefined;
    const heads = new RoomHeads(new Notifier(), 10, () => new Promise<number>((resolve) => (answer = resolve)));
    const reading = heads.roomPosition("!room:hs");
    heads.receive(output(11, "!room:hs"));
    answer(10); // read before 11 committed
    assert.equal(await reading, 11);
    assert.equal(await heads.roomPosition("!room:hs"), 11);
    heads.close();
  });

  it("keeps each room's newest position and where memberships changed", async () => {
    const heads = new RoomHeads(new Notifier(), 0, async (roomId) => (roomId === "!old:hs" ? 5 : 0));
    assert.equal(await heads.roomPosition("!old:hs"), 5);
    heads.receive(output(1, "!old:hs"));
    heads.receive({ ...(output(2, "!old:hs") as Extract<RoomserverOutput, { kind: "new_room_event" }>), stateDelta: new Map([["m.room.member\u0000@b:hs", "$2"]]) });
    assert.equal(await heads.roomPosition("!old:hs"), 5);
    assert.equal(heads.memberChangeOf("!old:hs"), 2);
    assert.equal(heads.userChangeOf("@b:hs"), 2);
    assert.equal(heads.userChangeOf("@a:hs"), 0);
    heads.close();
  });
});
