// State resolution v2.1 (rooms/v12.md "State resolution"): the first iterative auth checks start
// from an empty state map, and the full conflicted set takes in the conflicted state subgraph.
// Each scenario is run in room versions 11 (v2) and 12 (v2.1), where the spec makes them differ.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { StateMap } from "../../../src/core/events/room-event.ts";
import { EventGraph } from "../../../src/core/state-res/graph.ts";
import { conflictedStateSubgraph } from "../../../src/core/state-res/v2.ts";
import { version } from "../fixtures/room-versions.ts";
import { createRoom, levels, memorySource, resolveBothOrders, user } from "./fixtures.ts";
import type { MemorySourceOptions, TestRoom } from "./fixtures.ts";

const PL = stateMapKey("m.room.power_levels", "");
const TOPIC = stateMapKey("m.room.topic", "");
const member = (u: string): string => stateMapKey("m.room.member", u);
const bob = user("bob");
const carol = user("carol");
const mod = user("mod");

function resolve(room: TestRoom, sets: StateMap[], options: MemorySourceOptions = {}): Promise<StateMap> {
  return resolveBothOrders(room, sets, options, { shuffleSeed: 7 });
}

describe("state resolution v2.1 against v2", () => {
  /**
   * bob, an admin who is not the creator, changes the power levels on one fork while leaving on
   * another. After the two forks merge, a server still on the leave fork resolves against the merged
   * state: bob's leave is now unconflicted, and v2 checks bob's power levels change against it
   * (bob is not joined) and resets the power levels; v2.1 checks it from an empty state, against
   * its own auth events, and keeps it.
   */
  async function stateResetScenario(id: string): Promise<{ merged: StateMap; resolved: StateMap; p1: string; p2: string; leave: string }> {
    const v = version(id);
    const { room, fork, creator } = createRoom(v, { users: { [bob]: 100 } });
    room.join(fork, bob);
    room.join(fork, carol);
    const p1 = fork.get("m.room.power_levels") as string;
    const x = fork.clone();
    const y = fork.clone();
    const p2 = room.powerLevels(x, bob, levels(v, creator, { [bob]: 100, [carol]: 50 }));
    const leave = room.member(y, bob, bob, "leave");
    const merged = await resolve(room, [x.state, y.state]);
    const resolved = await resolve(room, [merged, y.state]);
    return { merged, resolved, p1, p2: p2.eventId, leave: leave.eventId };
  }

  for (const id of ["11", "12"]) {
    it(`room version ${id}: the first merge keeps bob's change and his leave`, async () => {
      const { merged, p2, leave } = await stateResetScenario(id);
      assert.equal(merged.get(PL), p2);
      assert.equal(merged.get(member(bob)), leave);
    });
  }

  it("room version 11 (v2): resolving against the unconflicted leave resets the power levels", async () => {
    const { resolved, p1, leave } = await stateResetScenario("11");
    assert.equal(resolved.get(PL), p1);
    assert.equal(resolved.get(member(bob)), leave);
  });

  it("room version 12 (v2.1): starting from an empty state keeps bob's change", async () => {
    const { resolved, p2, leave } = await stateResetScenario("12");
    assert.equal(resolved.get(PL), p2);
    assert.equal(resolved.get(member(bob)), leave);
  });

  /**
   * A linear history P1 -> P2 (alice makes bob an admin) -> carol's profile change (citing P2) ->
   * P3 (bob makes carol a moderator), and a state set left behind by an earlier reset with P1 for
   * power levels. P2 is in both full auth chains (carol's profile change cites it), so it is not in
   * the auth difference; only the conflicted state subgraph, on the path P3 -> P2 -> P1, brings it
   * back. Without it, P3 is checked against P1, where bob has no power, and is dropped.
   */
  async function subgraphScenario(
    id: string,
  ): Promise<{ resolved: StateMap; p1: string; p2: string; p3: string; between: string[]; room: TestRoom }> {
    const v = version(id);
    const { room, fork, creator } = createRoom(v);
    room.join(fork, bob);
    room.join(fork, carol);
    const p1 = fork.get("m.room.power_levels") as string;
    const p2 = room.powerLevels(fork, creator, levels(v, creator, { [bob]: 100 }));
    room.member(fork, carol, carol, "join", { displayname: "Carol" });
    const p3 = room.powerLevels(fork, bob, levels(v, creator, { [bob]: 100, [carol]: 50 }));
    const current = fork.state;
    const reset = new Map(current);
    reset.set(PL, p1);
    const resolved = await resolve(room, [current, reset]);
    // bob's join (cited by P3) cites the join rules, which cite P1: both are on a path too.
    const between = [fork.get("m.room.member", bob) as string, fork.get("m.room.join_rules") as string];
    return { resolved, p1, p2: p2.eventId, p3: p3.eventId, between, room };
  }

  it("room version 11 (v2): without the conflicted state subgraph the later power levels are lost", async () => {
    const { resolved, p1 } = await subgraphScenario("11");
    assert.equal(resolved.get(PL), p1);
  });

  it("room version 12 (v2.1): the conflicted state subgraph replays P2, and P3 stands", async () => {
    const { resolved, p3 } = await subgraphScenario("12");
    assert.equal(resolved.get(PL), p3);
  });

  it("the conflicted state subgraph holds the events on auth paths between conflicted events, and only those", async () => {
    const { room, p1, p2, p3, between } = await subgraphScenario("12");
    const graph = new EventGraph(memorySource(room.events), room.version);
    const conflicted = [p1, p3].map((id) => graph.intern(id));
    await graph.loadClosure(conflicted);
    const subgraph = new Set(conflictedStateSubgraph(graph, conflicted).map((i) => graph.idOf(i)));
    assert.deepEqual(subgraph, new Set([p1, p2, p3, ...between]));
    // Alone, P3 is on no path to another conflicted event: the subgraph is P3 itself.
    const only = new Set(conflictedStateSubgraph(graph, [graph.intern(p3)]).map((i) => graph.idOf(i)));
    assert.deepEqual(only, new Set([p3]));
  });

  /** mod, at 50, sets the topic on one of two forks of a new room; p1 is the room's power levels. */
  function moderatorTopicScenario(id: string): { room: TestRoom; a: StateMap; b: StateMap; p1: string; topic: string } {
    const { room, fork } = createRoom(version(id), { users: { [mod]: 50 } });
    room.join(fork, mod);
    const p1 = fork.get("m.room.power_levels") as string;
    const a = fork.clone();
    const b = fork.clone();
    const topic = room.topic(a, mod, "by the moderator");
    return { room, a: a.state, b: b.state, p1, topic: topic.eventId };
  }

  it("room version 12: a rejected auth event does not stand in for state the empty start lacks", async () => {
    const { room, a, b, p1, topic } = moderatorTopicScenario("12");
    // The topic is the only conflicted event; from an empty state its power levels come from its
    // auth events. Marked rejected, P1 is not used: without power levels mod has level 0.
    const plain = await resolve(room, [a, b]);
    assert.equal(plain.get(TOPIC), topic);
    const withRejected = await resolve(room, [a, b], { rejected: new Set([p1]) });
    assert.equal(withRejected.has(TOPIC), false);
    assert.equal(withRejected.get(PL), p1);
  });

  it("room version 11: the same rejected auth event changes nothing, the state map supplies the power levels", async () => {
    const { room, a, b, p1, topic } = moderatorTopicScenario("11");
    const withRejected = await resolve(room, [a, b], { rejected: new Set([p1]) });
    assert.equal(withRejected.get(TOPIC), topic);
  });

  it("room version 12: the creator outranks any power level in the reverse topological power ordering", async () => {
    const v = version("12");
    const { room, fork, creator } = createRoom(v, { users: { [bob]: 100 } });
    room.join(fork, bob);
    room.join(fork, carol);
    const a = fork.clone();
    const b = fork.clone();
    const t = room.clock;
    // bob's change comes first in time, but the creator's is ordered first, so bob's is checked
    // against it: it demotes bob, whose later change then fails.
    room.powerLevels(b, bob, { [bob]: 100, [carol]: 50 }, {}, t + 1000);
    const byCreator = room.powerLevels(a, creator, {}, {}, t + 2000);
    const resolved = await resolve(room, [a.state, b.state]);
    assert.equal(resolved.get(PL), byCreator.eventId);
  });
});
