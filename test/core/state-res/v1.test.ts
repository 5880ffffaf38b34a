// The original state resolution algorithm (rooms/v1.md "State resolution") on small event graphs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { StateMap } from "../../../src/core/events/room-event.ts";
import { version } from "../fixtures/room-versions.ts";
import { createRoom, resolveBothOrders, user } from "./fixtures.ts";
import type { MemorySourceOptions, TestRoom } from "./fixtures.ts";

const PL = stateMapKey("m.room.power_levels", "");
const JR = stateMapKey("m.room.join_rules", "");
const TOPIC = stateMapKey("m.room.topic", "");
const member = (u: string): string => stateMapKey("m.room.member", u);
const bob = user("bob");
const carol = user("carol");
const mod = user("mod");

const v1 = version("1");

function resolve(room: TestRoom, sets: StateMap[], options: MemorySourceOptions = {}): Promise<StateMap> {
  return resolveBothOrders(room, sets, options, { shuffleSeed: 3 });
}

const sha1 = (id: string): string => createHash("sha1").update(id, "utf8").digest("hex");

describe("state resolution v1", () => {
  it("power levels: the lower-depth event goes in first, and a later one only if R allows it", async () => {
    for (const adminDeeper of [false, true]) {
      const { room, fork, creator } = createRoom(v1, { users: { [mod]: 50 } });
      room.join(fork, mod);
      const a = fork.clone();
      const b = fork.clone();
      if (adminDeeper) room.topic(a, creator, "first, to make the admin's change deeper");
      else room.topic(b, mod, "first, to make the moderator's change deeper");
      const demotion = room.powerLevels(a, creator, { [creator]: 100 });
      const byMod = room.powerLevels(b, mod, { [creator]: 100, [mod]: 50 }, { events: { "m.room.name": 50 } });
      assert.notEqual(demotion.depth, byMod.depth);
      const resolved = await resolve(room, [a.state, b.state]);
      // Lower depth first: the moderator's change passes after nothing, but the admin's demotion is
      // allowed on top of it; the other way round the moderator's change fails on the demotion.
      assert.equal(resolved.get(PL), demotion.eventId);
    }
  });

  it("a ban racing a join: the ban wins whichever is deeper", async () => {
    for (const banDeeper of [false, true]) {
      const { room, fork, creator } = createRoom(v1);
      const a = fork.clone();
      const b = fork.clone();
      if (banDeeper) room.topic(a, creator, "deepen");
      else room.topic(b, creator, "deepen");
      const ban = room.member(a, creator, carol, "ban");
      room.join(b, carol);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(member(carol)), ban.eventId);
    }
  });

  it("other conflicts: the deepest event that passes the checks in R wins", async () => {
    const { room, fork, creator } = createRoom(v1);
    const a = fork.clone();
    const b = fork.clone();
    room.topic(a, creator, "shallow");
    room.topic(b, creator, "one");
    const deep = room.topic(b, creator, "two");
    const resolved = await resolve(room, [a.state, b.state]);
    assert.equal(resolved.get(TOPIC), deep.eventId);
  });

  it("other conflicts at the same depth: the lowest sha1(event_id) wins", async () => {
    const { room, fork, creator } = createRoom(v1);
    const a = fork.clone();
    const b = fork.clone();
    const t1 = room.topic(a, creator, "left");
    const t2 = room.topic(b, creator, "right");
    assert.equal(t1.depth, t2.depth);
    const resolved = await resolve(room, [a.state, b.state]);
    const expected = sha1(t1.eventId) < sha1(t2.eventId) ? t1 : t2;
    assert.equal(resolved.get(TOPIC), expected.eventId);
  });

  it("other conflicts: a deeper event that fails the checks in R loses to one that passes", async () => {
    const { room, fork, creator } = createRoom(v1, { users: { [bob]: 50 } });
    room.join(fork, bob);
    const a = fork.clone();
    const b = fork.clone();
    const allowed = room.topic(a, creator, "by the admin");
    const demotion = room.powerLevels(a, creator, { [creator]: 100 });
    room.send(b, { type: "m.room.name", stateKey: "", sender: bob, content: { name: "bob's" } });
    const deeper = room.topic(b, bob, "by bob, deeper");
    assert.ok(deeper.depth > allowed.depth);
    const resolved = await resolve(room, [a.state, b.state]);
    assert.equal(resolved.get(PL), demotion.eventId);
    assert.equal(resolved.get(TOPIC), allowed.eventId);
  });

  it("a key held by one state set only is not a conflict: v1 keeps it where v2 checks it", async () => {
    for (const id of ["1", "2"]) {
      const { room, fork, creator } = createRoom(version(id));
      const a = fork.clone();
      const b = fork.clone();
      const flip = room.joinRules(a, creator, "invite");
      const join = room.join(b, carol);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(JR), flip.eventId);
      if (id === "1") assert.equal(resolved.get(member(carol)), join.eventId);
      else assert.equal(resolved.has(member(carol)), false);
    }
  });

  it("events the source cannot provide drop out: a conflict left with one event is settled by it", async () => {
    const { room, fork, creator } = createRoom(v1);
    const a = fork.clone();
    const b = fork.clone();
    const left = room.topic(a, creator, "left");
    const right = room.topic(b, creator, "right");
    const resolved = await resolve(room, [a.state, b.state], { missing: new Set([right.eventId]) });
    assert.equal(resolved.get(TOPIC), left.eventId);
    const none = await resolve(room, [a.state, b.state], { missing: new Set([left.eventId, right.eventId]) });
    assert.equal(none.has(TOPIC), false);
  });
});
