// Properties of state resolution over random forked rooms (fast-check): the result depends only on
// the state sets as sets, never on their order, their entries' order, the order in which the
// source answers, or whether auth chains come from an index or a walk.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { StateMap } from "../../../src/core/events/room-event.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { resolveState } from "../../../src/core/state-res/index.ts";
import { entries, memorySource, prng, randomForkedRoom, shuffled, shuffledState } from "./fixtures.ts";

const VERSIONS = ["1", "2", "11", "12"].map((id) => getRoomVersion(id) as RoomVersion);

const scenario = fc.record({
  version: fc.constantFrom(...VERSIONS),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  forks: fc.integer({ min: 2, max: 3 }),
  steps: fc.integer({ min: 1, max: 8 }),
});

const RUNS = { numRuns: 60 };

describe("state resolution properties", () => {
  it("the result does not depend on the order of the state sets, of their entries, or of the answers", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer(), async ({ version, seed, forks, steps }, shuffleSeed) => {
        const { room, stateSets } = randomForkedRoom(version, seed, forks, steps);
        const baseline = await resolveState(stateSets, version, memorySource(room.events));
        const random = prng(shuffleSeed);
        const permuted = shuffled(stateSets, random).map((s) => shuffledState(s, random));
        const again = await resolveState(permuted, version, memorySource(room.events, { shuffleSeed }));
        assert.deepEqual(entries(again), entries(baseline));
        const indexed = await resolveState(permuted, version, memorySource(room.events, { shuffleSeed, withAuthChain: true }));
        assert.deepEqual(entries(indexed), entries(baseline));
      }),
      RUNS,
    );
  });

  it("keeps every key all state sets agree on", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ version, seed, forks, steps }) => {
        const { room, stateSets } = randomForkedRoom(version, seed, forks, steps);
        const resolved = await resolveState(stateSets, version, memorySource(room.events));
        const [first, ...rest] = stateSets as [StateMap, ...StateMap[]];
        for (const [key, id] of first) {
          if (rest.every((s) => s.get(key) === id)) assert.equal(resolved.get(key), id, key);
        }
      }),
      RUNS,
    );
  });

  it("resolving one state set returns it unchanged, and so does resolving N copies of it", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 5 }), async ({ version, seed, steps }, copies) => {
        const { room, stateSets } = randomForkedRoom(version, seed, 2, steps);
        const state = stateSets[0] as StateMap;
        const sets = Array.from({ length: copies }, () => new Map(state));
        const resolved = await resolveState(sets, version, memorySource(room.events));
        assert.deepEqual(entries(resolved), entries(state));
        assert.notEqual(resolved, state);
      }),
      RUNS,
    );
  });

  it("events missing from the source never make it fail, and it stays order independent", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer(), fc.double({ min: 0, max: 0.5, noNaN: true }), async (s, shuffleSeed, share) => {
        const { room, stateSets } = randomForkedRoom(s.version, s.seed, s.forks, s.steps);
        const random = prng(shuffleSeed);
        const missing = new Set([...room.events.keys()].filter(() => random() < share));
        const baseline = await resolveState(stateSets, s.version, memorySource(room.events, { missing }));
        const permuted = shuffled(stateSets, random).map((x) => shuffledState(x, random));
        const again = await resolveState(permuted, s.version, memorySource(room.events, { missing, shuffleSeed }));
        assert.deepEqual(entries(again), entries(baseline));
      }),
      RUNS,
    );
  });

  it("never modifies its inputs", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ version, seed, forks, steps }) => {
        const { room, stateSets } = randomForkedRoom(version, seed, forks, steps);
        const before = stateSets.map(entries);
        await resolveState(stateSets, version, memorySource(room.events));
        assert.deepEqual(stateSets.map(entries), before);
      }),
      { numRuns: 20 },
    );
  });

  it("resolves no state sets to the empty state", async () => {
    for (const version of VERSIONS) {
      assert.equal((await resolveState([], version, memorySource(new Map()))).size, 0);
    }
  });
});
