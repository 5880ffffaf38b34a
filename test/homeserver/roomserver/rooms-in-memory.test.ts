// The roomserver keeps a bounded number of rooms' workers in memory (roomsInMemory): the least
// recently used idle ones are dropped and loaded again from storage when needed, and a room dropped
// that way goes on exactly where it was (its next events follow its last ones).
import assert from "node:assert/strict";
import { it } from "node:test";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, local, startRoomserver } from "./harness.ts";

forEachEngine("roomserver: rooms in memory", (getDb) => {
  it("keeps at most roomsInMemory idle rooms, and a dropped room goes on from its last event", async () => {
    const { roomserver } = startRoomserver(getDb(), { roomsInMemory: 2 });
    const rooms: string[] = [];
    for (let i = 0; i < 4; i++) rooms.push((await createLocalRoom(roomserver, "11")).roomId);
    assert.ok(roomserver.roomsInMemory <= 2, `${roomserver.roomsInMemory} rooms in memory`);

    // Round after round over every room, each round dropping the rooms the previous one used.
    const last = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (const roomId of rooms) {
        const before = await roomserver.forwardExtremities(roomId);
        if (last.has(roomId)) assert.deepEqual(before, [last.get(roomId)], "the room's extremity is its last event");
        const { eventId } = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body: `r${round}` } });
        const sent = await roomserver.getEvent(eventId);
        assert.deepEqual(sent?.event.prevEventIds, before, "the new event follows the room's last one");
        last.set(roomId, eventId);
        assert.ok(roomserver.roomsInMemory <= 2);
      }
    }
  });

  it("keeps a busy room's worker, whatever the bound", async () => {
    const { roomserver } = startRoomserver(getDb(), { roomsInMemory: 1 });
    const a = (await createLocalRoom(roomserver, "11")).roomId;
    const b = (await createLocalRoom(roomserver, "11")).roomId;
    // Both rooms busy at once: neither worker may be dropped while it has work.
    const sends = [a, b, a, b].map((roomId, i) => roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body: `m${i}` } }));
    const results = await Promise.all(sends);
    assert.equal(new Set(results.map((r) => r.eventId)).size, 4);
    for (const roomId of [a, b]) assert.equal((await roomserver.forwardExtremities(roomId)).length, 1, "one line of events in each room");
    await roomserver.idle();
    // Idle now: the next use of a room drops the other.
    await roomserver.forwardExtremities(a);
    assert.equal(roomserver.roomsInMemory, 1);
  });
});
