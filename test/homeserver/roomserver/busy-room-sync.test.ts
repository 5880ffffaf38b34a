// A busy room's batches have their commits synced off the main thread (RoomWrite.syncInBackground,
// storage/wal-sync.ts), so that the next senders' requests come in meanwhile; a lone input's commit
// is synced at once, where handing the sync to another thread would only add to its wait.
import assert from "node:assert/strict";
import { it } from "node:test";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, local, startRoomserver } from "./harness.ts";

forEachEngine("roomserver: syncing a busy room's commits", (getDb) => {
  it("asks for a background sync for a batch of several inputs, and not for a lone one", async () => {
    const { roomserver } = startRoomserver(getDb());
    const { roomId } = await createLocalRoom(roomserver, "11");
    const store = roomserver.store;
    const persist = store.persist.bind(store);
    const asked: boolean[] = [];
    store.persist = ((write: Parameters<typeof persist>[0]) => {
      asked.push(write.syncInBackground === true);
      return persist(write);
    }) as typeof persist;
    const send = (body: string) => roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body } });

    await send("alone");
    assert.deepEqual(asked, [false]);
    // Sent together: they reach the room's queue before its next batch starts.
    const together = await Promise.all(["one", "two", "three", "four"].map(send));
    assert.equal(new Set(together.map((r) => r.eventId)).size, 4);
    assert.equal(asked[1], true, `asked: ${asked.join(", ")}`);
  });
});
