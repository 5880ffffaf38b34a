// A process persisting events is killed with SIGKILL at random moments (twice, restarting in
// between): every acknowledged event is there, with its state, and the room's forward extremities
// and current state are consistent with the events stored.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import { openDatabase } from "../../../src/storage/database.ts";
import { startChild } from "../../storage/child.ts";
import { createTestStorage, engines } from "../../storage/engines.ts";
import { local, startRoomserver } from "./harness.ts";

const WRITER = "../../homeserver/roomserver/fixtures/room-writer.ts";

for (const engine of engines) {
  describe(`room engine durability [${engine}]`, () => {
    it("keeps every acknowledged event, and a consistent room, across SIGKILLs", async () => {
      const storage = await createTestStorage(engine);
      try {
        await (await openDatabase(storage.config)).close();
        const acknowledged: string[] = [];
        let roomId = "";
        for (let round = 0; round < 2; round++) {
          const writer = startChild(WRITER, storage.config);
          await writer.waitForLines(20 + Math.floor(Math.random() * 150));
          writer.kill();
          const child = await writer.done;
          assert.equal(child.signal, "SIGKILL", `the writer ended on its own: ${child.stderr}`);
          for (const line of child.lines) {
            if (line.startsWith("room ")) roomId = line.slice(5);
            else acknowledged.push(line);
          }
        }
        assert.ok(acknowledged.length >= 20);

        const db = await openDatabase(storage.config);
        try {
          const { roomserver } = startRoomserver(db);
          const events = await roomserver.store.roomEvents(roomId);
          const byId = new Map(events.map((e) => [e.eventId, e]));
          const missing = acknowledged.filter((id) => byId.get(id) === undefined || byId.get(id)?.stateAfter === null);
          assert.deepEqual(missing, []);

          // Each event's state: before it, the state after its prev event; after it, that plus itself.
          for (const event of events) {
            assert.equal(event.outlier || event.rejectedReason !== null || event.softFailed, false);
            const prevs = event.pdu["prev_events"] as string[];
            const before = await roomserver.stateAt(event.eventId, "before");
            const after = await roomserver.stateAt(event.eventId, "after");
            if (prevs.length === 1) assert.deepEqual(before, await roomserver.stateAt(prevs[0] as string, "after"));
            const expected = new Map(before);
            const stateKey = event.pdu["state_key"];
            if (typeof stateKey === "string") expected.set(stateMapKey(event.pdu["type"] as string, stateKey), event.eventId);
            assert.deepEqual(after, expected);
          }

          // The forward extremities are exactly the events nothing cites; the current state is the state after them.
          const cited = new Set(events.flatMap((e) => e.pdu["prev_events"] as string[]));
          const childless = events.filter((e) => !cited.has(e.eventId)).map((e) => e.eventId);
          const extremities = await roomserver.forwardExtremities(roomId);
          assert.deepEqual(new Set(extremities), new Set(childless));
          assert.equal(extremities.length, 1);
          assert.deepEqual(await roomserver.currentState(roomId), await roomserver.stateAt(extremities[0] as string));

          // And the room goes on.
          const next = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("lane0"), content: { body: "after the crashes" } });
          assert.deepEqual((await roomserver.getEvent(next.eventId))?.event.prevEventIds, extremities);
        } finally {
          await db.close();
        }
      } finally {
        await storage.drop();
      }
    });
  });
}
