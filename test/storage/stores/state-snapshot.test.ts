import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LEAF_CAP, MAX_LEVEL, StateSnapshot, changesBetween, middleCap } from "../../../src/storage/stores/state-snapshot.ts";

// A change: a key out of a small pool (so keys are set, changed and removed again), an event ID or null.
const change = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }));
const step = fc.array(change, { minLength: 1, maxLength: 40 });

function applyToModel(model: Map<string, string>, changes: Map<string, string | null>): void {
  for (const [k, v] of changes) {
    if (v === null) model.delete(k);
    else model.set(k, v);
  }
}

function toChanges(pairs: ReadonlyArray<readonly [number, number | null]>): Map<string, string | null> {
  return new Map(pairs.map(([k, v]) => [`k${k}`, v === null ? null : `$e${k}.${v}`]));
}

describe("StateSnapshot", () => {
  it("holds exactly the state its changes make, at most MAX_LEVEL layers deep, each layer within its cap", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const model = new Map<string, string>();
        let snapshot = StateSnapshot.empty();
        for (const pairs of steps) {
          const changes = toChanges(pairs);
          const before = snapshot;
          snapshot = snapshot.apply(changes);
          applyToModel(model, changes);
          assert.deepEqual(snapshot.toMap(), model);
          assert.equal(snapshot.size, model.size);
          for (const [k, v] of model) assert.equal(snapshot.get(k), v);
          assert.ok(snapshot.level <= MAX_LEVEL);
          if (snapshot.level === MAX_LEVEL) assert.ok(snapshot.delta.size <= LEAF_CAP);
          if (snapshot.level === 1) assert.ok(snapshot.delta.size <= middleCap(snapshot.root.size));
          // The changes between two states are exactly what differs.
          const diff = changesBetween(before, snapshot);
          const expected = new Map(before.toMap());
          applyToModel(expected, diff);
          assert.deepEqual(expected, model);
          for (const [k, v] of diff) assert.notEqual(before.get(k) ?? null, v);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("returns itself for changes that change nothing, and becomes any state", () => {
    const base = StateSnapshot.full(new Map([["a", "$1"], ["b", "$2"]]));
    assert.equal(base.apply(new Map([["a", "$1"], ["c", null]])), base);
    const target = new Map([["b", "$3"], ["c", "$4"]]);
    assert.deepEqual(base.become(target).toMap(), target);
  });

  it("costs a bounded number of entries per change in a large room", () => {
    const members = 10_000;
    let snapshot = StateSnapshot.full(new Map(Array.from({ length: members }, (_, i) => [`m${i}`, `$join${i}`])));
    let written = 0;
    const changes = 5_000;
    for (let i = 0; i < changes; i++) {
      snapshot = snapshot.apply(new Map([[`m${(i * 7919) % members}`, `$change${i}`]]));
      written += snapshot.delta.size;
    }
    // About members / cap + cap / (2 * LEAF_CAP) + LEAF_CAP / 2 entries a change (~41 here), far below members.
    assert.ok(written / changes < 60, `${written / changes} entries a change`);
  });
});
