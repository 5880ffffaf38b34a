import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { packedFilter, packedFlatMap, packedMap } from "../../src/core/packed-map.ts";

describe("packedMap", () => {
  it("gives what Array.prototype.map gives, index included, and never a hole", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), { maxLength: 50 }), (list) => {
        const f = (item: unknown, i: number): string => `${i}:${String(item)}`;
        const mapped = packedMap(list, f);
        assert.deepEqual(mapped, list.map(f));
        for (let i = 0; i < mapped.length; i++) assert.ok(i in mapped);
      }),
    );
  });

  it("leaves its input alone", () => {
    const list = Object.freeze(["a", "b"]);
    assert.deepEqual(packedMap(list, (s) => s.toUpperCase()), ["A", "B"]);
    assert.deepEqual(list, ["a", "b"]);
  });
});

describe("packedFilter and packedFlatMap", () => {
  it("give what filter and flatMap give", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer(), { maxLength: 5 }), { maxLength: 20 }), (lists) => {
        const keep = (list: readonly number[]): boolean => list.length % 2 === 0;
        assert.deepEqual(packedFilter(lists, keep), lists.filter(keep));
        assert.deepEqual(packedFlatMap(lists, (list) => list), lists.flat());
        assert.deepEqual(packedFlatMap(lists, (list) => list.map((n) => n * 2)), lists.flatMap((list) => list.map((n) => n * 2)));
      }),
    );
  });
});
