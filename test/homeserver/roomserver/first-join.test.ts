// A server joining a room it does not know: the room's state arrives as outliers, and the join
// enters as a new event on that state. The room has no forward extremities and so no current
// state here yet: the soft-failure check (against the current state) does not apply to it.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { eventIdOf, key, LOCAL, local, localKey, remote, REMOTE, RemoteServer, remoteKey, startRoomserver, version } from "./harness.ts";

forEachEngine("roomserver: a first join on the state it comes with", (getDb) => {
  for (const roomVersion of ["10", "11"]) {
    it(`takes the join as live, with the room's current state from it (v${roomVersion})`, async () => {
      const { roomserver, outputs } = startRoomserver(getDb());
      const v = version(roomVersion);
      const them = new RemoteServer(REMOTE, remoteKey, v);
      const us = new RemoteServer(LOCAL, localKey, v);
      const creator = remote("carol");
      const alice = local("alice");

      // The room as the resident server built it.
      const roomId = `!room${roomVersion}:${REMOTE}`;
      const rebuilt = them.event({ roomId, type: "m.room.create", stateKey: "", sender: creator, content: { creator, room_version: roomVersion }, prevEvents: [], authEvents: [], depth: 1 });
      const createEventId = eventIdOf(rebuilt, v);
      const authCreate = [createEventId];
      const member = them.event({ roomId, type: "m.room.member", stateKey: creator, sender: creator, content: { membership: "join" }, prevEvents: [createEventId], authEvents: authCreate, depth: 2 });
      const memberId = eventIdOf(member, v);
      const power = them.event({
        roomId,
        type: "m.room.power_levels",
        stateKey: "",
        sender: creator,
        content: { users: { [creator]: 100 } },
        prevEvents: [memberId],
        authEvents: [...authCreate, memberId],
        depth: 3,
      });
      const powerId = eventIdOf(power, v);
      const rules = them.event({ roomId, type: "m.room.join_rules", stateKey: "", sender: creator, content: { join_rule: "public" }, prevEvents: [powerId], authEvents: [...authCreate, memberId, powerId], depth: 4 });
      const rulesId = eventIdOf(rules, v);
      const state: Pdu[] = [rebuilt, member, power, rules];
      for (const pdu of state) {
        const stored = await roomserver.input({ kind: "outlier", pdu, roomVersion, origin: REMOTE });
        assert.equal(stored.outcome, "accepted", "reason" in stored ? stored.reason : "");
      }
      assert.deepEqual(await roomserver.forwardExtremities(roomId), []);

      const join = us.event({
        roomId,
        type: "m.room.member",
        stateKey: alice,
        sender: alice,
        content: { membership: "join" },
        prevEvents: [rulesId],
        authEvents: [...authCreate, powerId, rulesId],
        depth: 5,
      });
      const stateBefore = new Map([
        [key("m.room.create"), createEventId],
        [key("m.room.member", creator), memberId],
        [key("m.room.power_levels"), powerId],
        [key("m.room.join_rules"), rulesId],
      ]);
      const result = await roomserver.input({ kind: "new", pdu: join, origin: REMOTE, stateBefore });
      assert.equal(result.outcome, "accepted", "reason" in result ? result.reason : "");
      assert.deepEqual(await roomserver.forwardExtremities(roomId), [result.eventId]);
      const current = await roomserver.currentState(roomId);
      assert.equal(current?.get(key("m.room.member", alice)), result.eventId);
      assert.equal(current?.get(key("m.room.create")), createEventId);
      assert.ok(outputs.some((o) => o.kind === "new_room_event" && o.event.eventId === result.eventId));

      // Once the room has a current state, the check applies again: a join the current state
      // refuses (a banned user's) is soft failed even on a state before it that allows it.
      const dave = local("dave");
      const ban = them.event({
        roomId,
        type: "m.room.member",
        stateKey: dave,
        sender: creator,
        content: { membership: "ban" },
        prevEvents: [result.eventId as string],
        authEvents: [...authCreate, memberId, powerId],
        depth: 6,
      });
      assert.equal((await roomserver.input({ kind: "new", pdu: ban, origin: REMOTE })).outcome, "accepted");
      const evading = us.event({
        roomId,
        type: "m.room.member",
        stateKey: dave,
        sender: dave,
        content: { membership: "join" },
        prevEvents: [result.eventId as string],
        authEvents: [...authCreate, powerId, rulesId],
        depth: 6,
      });
      assert.equal((await roomserver.input({ kind: "new", pdu: evading, origin: REMOTE })).outcome, "soft_failed");
    });
  }
});
