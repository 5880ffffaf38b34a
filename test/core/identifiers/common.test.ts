import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8Length } from "../../../src/core/identifiers/common.ts";

describe("utf8Length", () => {
  it("counts UTF-8 bytes", () => {
    assert.equal(utf8Length(""), 0);
    assert.equal(utf8Length("a"), 1);
    assert.equal(utf8Length("\u00e9"), 2);
    assert.equal(utf8Length("\u20ac"), 3);
    assert.equal(utf8Length("\u{1f600}"), 4);
  });

  it("agrees with TextEncoder on well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        assert.equal(utf8Length(s), new TextEncoder().encode(s).length);
      }),
    );
  });
});
