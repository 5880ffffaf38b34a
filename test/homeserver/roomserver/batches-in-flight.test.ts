// Roomserver.batchesInFlight, which sync relies on to give up a gap in the room stream's positions
// (sync/room-heads.ts): it settles once the batches being processed at the call have committed and
// told their outputs, and does not wait for batches that start later.
import assert from "node:assert/strict";
import { it } from "node:test";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, local, startRoomserver } from "./harness.ts";

forEachEngine("roomserver: batches in flight", (getDb) => {
  it("settles after the batch being written has committed and told its output, not before, and not for later batches", async () => {
    const { roomserver, outputs } = startRoomserver(getDb());
    const { roomId } = await createLocalRoom(roomserver, "11");
    await roomserver.batchesInFlight(); // nothing in flight: settles at once

    // Hold the next write transaction open until released.
    const store = roomserver.store;
    const persist = store.persist.bind(store);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    store.persist = (async (...args: Parameters<typeof persist>) => {
      if (calls++ === 0) await held;
      return await persist(...args);
    }) as typeof persist;

    const first = roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body: "slow" } });
    while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
    let settled = false;
    const inFlight = roomserver.batchesInFlight().then(() => (settled = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "the held batch is still in flight");

    release();
    await inFlight;
    const { eventId } = await first;
    assert.ok(outputs.some((o) => o.kind === "new_room_event" && o.event.eventId === eventId), "its output was told before");
    // A call made before a batch starts does not wait for it.
    let releaseLater: () => void = () => undefined;
    const heldLater = new Promise<void>((resolve) => (releaseLater = resolve));
    store.persist = (async (...args: Parameters<typeof persist>) => {
      await heldLater;
      return await persist(...args);
    }) as typeof persist;
    const before = roomserver.batchesInFlight();
    const later = roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body: "later" } });
    await before;
    releaseLater();
    await later;
  });
});
