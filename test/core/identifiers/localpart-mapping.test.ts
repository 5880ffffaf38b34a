import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mapToLocalpart } from "../../../src/core/identifiers/localpart-mapping.ts";
import { isValidLocalpart } from "../../../src/core/identifiers/user-id.ts";

describe("mapToLocalpart", () => {
  it("follows the spec's examples (appendices#mapping-from-other-character-sets)", () => {
    assert.equal(mapToLocalpart("#"), "=23");
    assert.equal(mapToLocalpart("\u00e1"), "=c3=a1");
    assert.equal(mapToLocalpart("A", { preserveCase: true }), "_a");
    assert.equal(mapToLocalpart("_", { preserveCase: true }), "__");
  });

  it("lowers A-Z, keeps the grammar's characters and escapes `=`", () => {
    assert.equal(mapToLocalpart("Alice"), "alice");
    assert.equal(mapToLocalpart("a.b_c-d/e+f0"), "a.b_c-d/e+f0");
    assert.equal(mapToLocalpart("a=b"), "a=3db");
    assert.equal(mapToLocalpart("a b:c"), "a=20b=3ac");
    assert.equal(mapToLocalpart("Al_ice", { preserveCase: true }), "_al__ice");
    assert.equal(mapToLocalpart(""), "");
  });

  it("always yields a valid localpart for a non-empty name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), fc.boolean(), (name, preserveCase) => {
        assert.equal(isValidLocalpart(mapToLocalpart(name, { preserveCase })), true);
      }),
    );
  });

  it("keeps names apart with preserveCase, and folds case without it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii" }), fc.string({ unit: "grapheme-ascii" }), (a, b) => {
        assert.equal(mapToLocalpart(a, { preserveCase: true }) === mapToLocalpart(b, { preserveCase: true }), a === b);
        assert.equal(mapToLocalpart(a), mapToLocalpart(a.toLowerCase()));
      }),
    );
  });
});
