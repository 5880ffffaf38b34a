// Roomserver.createRoom stores a room's create event and initial events together or not at all
// (RoomWorker groups): one refused initial event refuses them all, and no room is left behind.
import assert from "node:assert/strict";
import { it } from "node:test";
import { MatrixError } from "../../../src/core/errors.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { LOCAL, local, startRoomserver } from "./harness.ts";

forEachEngine("roomserver: a room created with its initial events", (getDb) => {
  const alice = local("alice");
  const join = { type: "m.room.member", stateKey: alice, content: { membership: "join" } };

  it("stores none of them when one is refused, and all of them in order otherwise", async () => {
    const { roomserver, outputs } = startRoomserver(getDb());
    const roomId = `!group:${LOCAL}`;
    const lockedOut = { type: "m.room.power_levels", stateKey: "", content: { users: {}, state_default: 100 } };
    const name = { type: "m.room.name", stateKey: "", content: { name: "Refused" } };
    await assert.rejects(
      roomserver.createRoom({ roomVersion: "10", creator: alice, roomId }, [join, lockedOut, name]),
      (err: unknown) => err instanceof MatrixError && err.errcode === "M_FORBIDDEN",
    );
    assert.equal(await roomserver.roomVersion(roomId), undefined);
    assert.equal(outputs.length, 0);

    const levels = { type: "m.room.power_levels", stateKey: "", content: { users: { [alice]: 100 } } };
    const created = await roomserver.createRoom({ roomVersion: "10", creator: alice, roomId }, [join, levels, name]);
    assert.equal(created.roomId, roomId);
    const state = await roomserver.currentState(roomId);
    assert.ok(state !== undefined);
    const nameId = await roomserver.currentStateEventId(roomId, "m.room.name", "");
    assert.ok(nameId !== undefined);
    assert.equal(created.streamOrdering, (await roomserver.getEvent(nameId))?.streamOrdering);
    await roomserver.idle();
    assert.deepEqual(
      outputs.flatMap((o) => (o.kind === "new_room_event" ? [o.event.type] : [])),
      ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.name"],
    );
  });

  it("refuses an oversized initial event as malformed, storing nothing", async () => {
    const { roomserver } = startRoomserver(getDb());
    const roomId = `!oversized:${LOCAL}`;
    const topic = { type: "m.room.topic", stateKey: "", content: { topic: "x".repeat(70_000) } };
    await assert.rejects(
      roomserver.createRoom({ roomVersion: "10", creator: alice, roomId }, [join, topic]),
      (err: unknown) => err instanceof MatrixError && err.errcode === "M_TOO_LARGE",
    );
    assert.equal(await roomserver.roomVersion(roomId), undefined);
  });
});
