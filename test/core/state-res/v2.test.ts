// State resolution v2 (rooms/fragments/v2-state-res.md) on real event graphs: rooms v11 and v12
// agree on every scenario here (v12's differences are in v2-1.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import { resolveState } from "../../../src/core/state-res/index.ts";
import { version } from "../fixtures/room-versions.ts";
import { createRoom, entries, levels, memorySource, resolveBothOrders as resolve, user } from "./fixtures.ts";

const PL = stateMapKey("m.room.power_levels", "");
const JR = stateMapKey("m.room.join_rules", "");
const TOPIC = stateMapKey("m.room.topic", "");
const member = (u: string): string => stateMapKey("m.room.member", u);

const bob = user("bob");
const carol = user("carol");
const mod = user("mod");

for (const id of ["2", "11", "12"]) {
  const v = version(id);
  describe(`state resolution v2 in room version ${id}`, () => {
    it("a demotion beats a concurrent ban by the demoted moderator, whatever the timestamps", async () => {
      for (const banFirst of [true, false]) {
        const { room, fork, creator } = createRoom(v, { users: { [mod]: 50 } });
        room.join(fork, mod);
        room.join(fork, bob);
        const a = fork.clone();
        const b = fork.clone();
        const t = room.clock;
        const demotion = room.powerLevels(a, creator, levels(v, creator, {}), {}, banFirst ? t + 2000 : t + 1000);
        room.member(b, mod, bob, "ban", {}, banFirst ? t + 1000 : t + 2000);
        const resolved = await resolve(room, [a.state, b.state]);
        assert.equal(resolved.get(PL), demotion.eventId);
        assert.equal(resolved.get(member(bob)), fork.get("m.room.member", bob));
      }
    });

    it("a ban by a moderator stands when the admin's concurrent change keeps the moderator's level", async () => {
      const { room, fork, creator } = createRoom(v, { users: { [mod]: 50 } });
      room.join(fork, mod);
      room.join(fork, bob);
      const a = fork.clone();
      const b = fork.clone();
      const change = room.powerLevels(a, creator, levels(v, creator, { [mod]: 50, [carol]: 10 }));
      const ban = room.member(b, mod, bob, "ban");
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(PL), change.eventId);
      assert.equal(resolved.get(member(bob)), ban.eventId);
    });

    it("a join rules flip to invite keeps out a concurrent public join", async () => {
      const { room, fork, creator } = createRoom(v);
      const a = fork.clone();
      const b = fork.clone();
      const flip = room.joinRules(a, creator, "invite");
      room.join(b, carol);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(JR), flip.eventId);
      assert.equal(resolved.has(member(carol)), false);
    });

    it("a join rules flip back and forth: the later flip of one line wins over the earlier state", async () => {
      const { room, fork, creator } = createRoom(v);
      const a = fork.clone();
      const b = fork.clone();
      room.joinRules(a, creator, "invite");
      const back = room.joinRules(a, creator, "public");
      const join = room.join(b, carol);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(JR), back.eventId);
      assert.equal(resolved.get(member(carol)), join.eventId);
    });

    it("topics on one power levels mainline: the later origin_server_ts wins", async () => {
      for (const modLater of [true, false]) {
        const { room, fork, creator } = createRoom(v, { users: { [mod]: 50 } });
        room.join(fork, mod);
        const a = fork.clone();
        const b = fork.clone();
        const t = room.clock;
        const byMod = room.topic(a, mod, "from the moderator", modLater ? t + 5000 : t + 1000);
        const byAdmin = room.topic(b, creator, "from the admin", modLater ? t + 1000 : t + 5000);
        const resolved = await resolve(room, [a.state, b.state]);
        assert.equal(resolved.get(TOPIC), modLater ? byMod.eventId : byAdmin.eventId);
      }
    });

    it("topics: the one based on the later power levels wins over an older-based one with a later timestamp", async () => {
      const { room, fork, creator } = createRoom(v, { users: { [mod]: 50 } });
      room.join(fork, mod);
      const a = fork.clone();
      const b = fork.clone();
      const t = room.clock;
      const pl2 = room.powerLevels(b, creator, levels(v, creator, { [mod]: 50, [carol]: 10 }), {}, t + 100);
      const newer = room.topic(b, creator, "based on the new power levels", t + 200);
      room.topic(a, mod, "based on the old power levels", t + 9000);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(PL), pl2.eventId);
      assert.equal(resolved.get(TOPIC), newer.eventId);
    });

    it("a ban racing a join: the ban wins either way round", async () => {
      for (const joinFirst of [true, false]) {
        const { room, fork, creator } = createRoom(v);
        const a = fork.clone();
        const b = fork.clone();
        const t = room.clock;
        const ban = room.member(a, creator, carol, "ban", {}, joinFirst ? t + 2000 : t + 1000);
        room.join(b, carol, joinFirst ? t + 1000 : t + 2000);
        const resolved = await resolve(room, [a.state, b.state]);
        assert.equal(resolved.get(member(carol)), ban.eventId);
      }
    });

    it("an event citing an auth event of the other fork is authorised by it once both merge", async () => {
      const { room, fork, creator } = createRoom(v);
      room.join(fork, bob);
      const a = fork.clone();
      const b = fork.clone();
      const promotion = room.powerLevels(a, creator, levels(v, creator, { [bob]: 50 }));
      // bob's server saw the promotion but builds on fork b, whose state still has the old levels.
      const topic = room.send(b, {
        type: "m.room.topic",
        stateKey: "",
        sender: bob,
        content: { topic: "bob may" },
        authState: a.state,
      });
      assert.equal(b.get("m.room.power_levels"), fork.get("m.room.power_levels"));
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(PL), promotion.eventId);
      assert.equal(resolved.get(TOPIC), topic.eventId);
    });

    it("events the source cannot provide drop out instead of failing the resolution", async () => {
      const { room, fork, creator } = createRoom(v);
      room.join(fork, bob);
      const a = fork.clone();
      const b = fork.clone();
      const promotion = room.powerLevels(a, creator, levels(v, creator, { [bob]: 50 }));
      room.send(b, { type: "m.room.topic", stateKey: "", sender: bob, content: { topic: "x" }, authState: a.state });
      const resolved = await resolve(room, [a.state, b.state], { missing: new Set([promotion.eventId]) });
      // Without the promotion, the old power levels stand and bob's topic is not allowed.
      assert.equal(resolved.get(PL), fork.get("m.room.power_levels"));
      assert.equal(resolved.has(TOPIC), false);
      assert.equal(resolved.get(member(bob)), fork.get("m.room.member", bob));
    });

    it("unconflicted state is kept as it is, even where the rules would not allow it now", async () => {
      const { room, fork, creator } = createRoom(v, { users: { [bob]: 50 } });
      room.join(fork, bob);
      const topic = room.topic(fork, bob, "shared");
      const a = fork.clone();
      const b = fork.clone();
      room.powerLevels(a, creator, levels(v, creator, { [bob]: 50 }), { events: { "m.room.topic": 100 } });
      room.join(b, carol);
      const resolved = await resolve(room, [a.state, b.state]);
      assert.equal(resolved.get(TOPIC), topic.eventId);
      assert.equal(resolved.get(member(carol)), b.get("m.room.member", carol));
    });

    it("a kick and the kicked user's own leave conflict: the kick, a power event, is applied first and the leave still passes", async () => {
      const { room, fork, creator } = createRoom(v);
      room.join(fork, bob);
      const a = fork.clone();
      const b = fork.clone();
      room.member(a, creator, bob, "leave");
      const leave = room.member(b, bob, bob, "leave");
      const resolved = await resolve(room, [a.state, b.state]);
      // The kick is applied in step 2; bob's own leave (not a power event) is then checked against a
      // state where bob has left, and is rejected: the kick stays.
      assert.notEqual(resolved.get(member(bob)), leave.eventId);
      assert.equal(resolved.get(member(bob)), a.get("m.room.member", bob));
    });

  });
}

describe("state resolution v2 on forged input", () => {
  it("room version 2: an auth cycle (possible only with v1 event IDs) neither hangs nor depends on input order", async () => {
    const v = version("2");
    const { room, fork, creator } = createRoom(v);
    room.join(fork, bob);
    const a = fork.clone();
    const b = fork.clone();
    const topic = room.topic(a, creator, "real");
    const kick = room.member(b, creator, bob, "leave");
    // Two forged events citing each other, and a forged power levels event citing the cycle.
    const forge = (eventId: string, like: string, authEventIds: string[]): void => {
      room.events.set(eventId, { ...room.get(like), eventId, authEventIds: [...room.get(like).authEventIds, ...authEventIds] });
    };
    forge("$x:evil.example", topic.eventId, ["$y:evil.example"]);
    forge("$y:evil.example", kick.eventId, ["$x:evil.example"]);
    forge("$p:evil.example", fork.get("m.room.power_levels") as string, ["$x:evil.example"]);
    const s1 = new Map(a.state).set(TOPIC, "$x:evil.example");
    const s2 = new Map(b.state).set(member(bob), "$y:evil.example").set(PL, "$p:evil.example");
    const expected = entries(await resolveState([s1, s2], v, memorySource(room.events)));
    for (let seed = 0; seed < 5; seed++) {
      const again = await resolveState(seed % 2 === 0 ? [s2, s1] : [s1, s2], v, memorySource(room.events, { shuffleSeed: seed, withAuthChain: seed > 2 }));
      assert.deepEqual(entries(again), expected);
    }
  });
});
