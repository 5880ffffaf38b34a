import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { rememberRecent } from "../../src/core/recent-map.ts";

describe("rememberRecent", () => {
  it("keeps the `max` most recently remembered keys, in the order they were last remembered", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 100 }), fc.integer({ min: 1, max: 8 }), (keys, max) => {
        const map = new Map<number, number>();
        keys.forEach((key, i) => rememberRecent(map, key, i, max));
        // The model: each key's last position, the latest `max` of them.
        const last = new Map<number, number>();
        keys.forEach((key, i) => last.set(key, i));
        const expected = [...last].sort((x, y) => x[1] - y[1]).slice(-max);
        assert.deepEqual([...map], expected);
      }),
    );
  });
});
