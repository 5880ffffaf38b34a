// The synthetic forked room the benchmark reuses, at a small size: it forks as described, and
// resolving it is deterministic, order independent and fetches in a few batches.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { resolveState } from "../../../src/core/state-res/index.ts";
import { buildForkedRoom, entries, memorySource, prng, shuffledState } from "./fixtures.ts";

describe("buildForkedRoom", () => {
  for (const id of ["11", "12"]) {
    it(`room version ${id}: N members, K conflicting events, resolved the same from either side`, async () => {
      const version = getRoomVersion(id) as RoomVersion;
      const forked = buildForkedRoom({ version, members: 60, conflicts: 30 });
      const [a, b] = forked.stateSets;
      const joined = [...a.keys()].filter((k) => k.startsWith(stateMapKey("m.room.member", ""))).length;
      assert.ok(joined >= 60, `${joined} member keys`);
      assert.ok(forked.conflictedKeys >= 20, `${forked.conflictedKeys} conflicted keys`);

      const source = memorySource(forked.room.events);
      const resolved = await resolveState([a, b], version, source);
      assert.ok(source.stats.calls <= 8, `${source.stats.calls} fetch batches`);
      const random = prng(1);
      const again = await resolveState(
        [shuffledState(b, random), shuffledState(a, random)],
        version,
        memorySource(forked.room.events, { shuffleSeed: 5, withAuthChain: true }),
      );
      assert.deepEqual(entries(again), entries(resolved));
      // Fork b flipped the join rules to invite; it is the only change of them, so it stands.
      assert.equal(resolved.get(stateMapKey("m.room.join_rules", "")), b.get(stateMapKey("m.room.join_rules", "")));
    });
  }

  it("builds unsigned rooms too, for speed, with the same shape", async () => {
    const version = getRoomVersion("12") as RoomVersion;
    const forked = buildForkedRoom({ version, members: 40, conflicts: 20, signed: false });
    const resolved = await resolveState(forked.stateSets, version, memorySource(forked.room.events));
    assert.ok(resolved.size >= 40);
  });
});
