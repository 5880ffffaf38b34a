import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { packedMap } from "../../src/core/packed-map.ts";

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
