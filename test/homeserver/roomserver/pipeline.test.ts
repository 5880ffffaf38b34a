import assert from "node:assert/strict";
import { it } from "node:test";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, key, local, startRoomserver } from "./harness.ts";

forEachEngine("roomserver: local rooms", (getDb) => {
  for (const roomVersion of ["1", "6", "11", "12"]) {
    it(`creates a room (v${roomVersion}) and holds a conversation, with the state at every event`, async () => {
      const { roomserver, outputs } = startRoomserver(getDb());
      const alice = local("alice");
      const bob = local("bob");
      const { roomId, events } = await createLocalRoom(roomserver, roomVersion);
      const joined = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
      const said: string[] = [];
      for (let i = 0; i < 5; i++) {
        const sender = i % 2 === 0 ? alice : bob;
        said.push((await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender, content: { msgtype: "m.text", body: `hello ${i}` } })).eventId);
      }
      const topic = await roomserver.createLocalEvent({ roomId, type: "m.room.topic", stateKey: "", sender: alice, content: { topic: "weft" } });

      const current = await roomserver.currentState(roomId);
      assert.ok(current);
      assert.equal(current.get(key("m.room.member", bob)), joined.eventId);
      assert.equal(current.get(key("m.room.topic")), topic.eventId);
      assert.equal(current.size, 6);
      assert.deepEqual(await roomserver.forwardExtremities(roomId), [topic.eventId]);

      // The state before each message is the state after the one before it.
      const all = [...events, joined.eventId, ...said, topic.eventId];
      for (let i = 1; i < all.length; i++) {
        assert.deepEqual(await roomserver.stateAt(all[i] as string, "before"), await roomserver.stateAt(all[i - 1] as string, "after"));
      }
      assert.equal((await roomserver.stateAt(said[0] as string))?.size, 5);
      // Every event went out, in stream order.
      const timeline = outputs.flatMap((o) => (o.kind === "new_room_event" && o.roomId === roomId ? [o] : []));
      assert.deepEqual(timeline.map((o) => o.event.eventId), all);
      for (let i = 1; i < timeline.length; i++) assert.ok((timeline[i]?.streamOrdering ?? 0) > (timeline[i - 1]?.streamOrdering ?? 0));
      assert.deepEqual(timeline.at(-1)?.stateDelta, new Map([[key("m.room.topic"), topic.eventId]]));
    });
  }

  it("refuses to build a local event its sender may not send, with M_FORBIDDEN", async () => {
    const { roomserver } = startRoomserver(getDb());
    const { roomId } = await createLocalRoom(roomserver, "11");
    await assert.rejects(
      roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("stranger"), content: { body: "hi" } }),
      (err: Error & { errcode?: string }) => err.errcode === "M_FORBIDDEN" && /not joined/.test(err.message),
    );
    await assert.rejects(roomserver.createLocalEvent({ roomId: "!nowhere:local.test", type: "m.room.message", sender: local("alice"), content: {} }));
    await assert.rejects(roomserver.createRoom({ roomVersion: "99", creator: local("alice") }), /not supported/);
    // The room goes on.
    await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: local("alice"), content: { body: "fine" } });
  });
});
