import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeStateDelta, encodeStateDelta } from "../../../src/storage/stores/state-group-codec.ts";

describe("state group codec", () => {
  it("decodes what it encodes, sorted by key nid", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 50 })), { selector: ([k]) => k }), (entries) => {
        const sorted = [...entries].sort((a, b) => a[0] - b[0]);
        assert.deepEqual(decodeStateDelta(encodeStateDelta(entries)), sorted);
      }),
    );
  });

  it("takes a few bytes an entry", () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => [i + 1, 50_000 + i] as const);
    assert.ok(encodeStateDelta(entries).byteLength <= 10_000 * 4 + 3);
  });

  it("refuses malformed bytes and bad nids", () => {
    assert.throws(() => decodeStateDelta(new Uint8Array([2, 1, 1])), RangeError);
    assert.throws(() => decodeStateDelta(new Uint8Array([1, 1, 1, 9])), RangeError);
    assert.throws(() => decodeStateDelta(new Uint8Array([0x80])), RangeError);
    assert.throws(() => encodeStateDelta([[1, -1]]), RangeError);
    assert.throws(() => encodeStateDelta([[3, 1], [3, 2]]), RangeError);
  });
});
