// POST /createRoom gives a new room every time, also in room version 12 where the room ID is the
// create event's reference hash (rooms/v12.md): identical requests at the same moment must not
// build identical create events.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines, forEachEngine } from "../../storage/engines.ts";
import { local, startRoomserver } from "../roomserver/harness.ts";
import type { TestHomeserver } from "../harness.ts";
import { createRoom, registerUser, startRoomsHomeserver, stateContent, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`POST /createRoom gives distinct rooms [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      alice = await registerUser(hs, "alice");
    });
    after(() => hs.stop());

    for (const version of ["12", "11"]) {
      it(`ten identical requests at once make ten rooms (v${version})`, async () => {
        const body = { room_version: version, preset: "private_chat" };
        const roomIds = await Promise.all(Array.from({ length: 10 }, () => createRoom(hs, alice, body)));
        assert.equal(new Set(roomIds).size, 10);
        for (const roomId of roomIds) {
          // Each is a room of its own, fully created: the creator joined and the preset applied.
          assert.equal((await stateContent(hs, roomId, "m.room.member", alice.userId))?.["membership"], "join");
          assert.equal((await stateContent(hs, roomId, "m.room.join_rules"))?.["join_rule"], "invite");
        }
      });
    }

  });
}

forEachEngine("roomserver: create events of one clock tick", (getDb) => {
  it("a frozen clock still gives each creation its own room", async () => {
    const { roomserver } = startRoomserver(getDb(), { now: () => 1_000 });
    const created = await Promise.all(Array.from({ length: 5 }, () => roomserver.createRoom({ roomVersion: "12", creator: local("alice") })));
    assert.equal(new Set(created.map((c) => c.roomId)).size, 5);
    const stamps = await Promise.all(created.map(async (c) => (await roomserver.getEvent(c.eventId))?.event.originServerTs));
    assert.deepEqual(stamps.slice().sort(), [1_000, 1_001, 1_002, 1_003, 1_004]);
  });

  it("after a restart with the clock set back, a creation steps over the stored create events", async () => {
    const first = startRoomserver(getDb(), { now: () => 5_000 }).roomserver;
    const a = await first.createRoom({ roomVersion: "12", creator: local("alice") });
    const b = await first.createRoom({ roomVersion: "12", creator: local("alice") });
    await first.close();
    // A new process, its clock at the first creation again: 5,000 and 5,001 name stored rooms.
    const again = startRoomserver(getDb(), { now: () => 5_000 }).roomserver;
    const c = await again.createRoom({ roomVersion: "12", creator: local("alice") });
    assert.ok(![a.roomId, b.roomId].includes(c.roomId));
    assert.equal((await again.getEvent(c.eventId))?.event.originServerTs, 5_002);
  });
});
