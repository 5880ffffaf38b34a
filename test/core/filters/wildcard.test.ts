import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { matchesWildcard } from "../../../src/core/filters/index.ts";

// The reference: the pattern as an anchored RegExp where `*` is `.*` and everything else literal.
function reference(pattern: string, value: string): boolean {
  const source = pattern.split("*").map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, "\\$&")).join(".*");
  return new RegExp(`^${source}$`, "s").test(value);
}

// Small alphabets so that patterns and values share characters often.
const piece = fc.constantFrom("a", "b", ".", "m", "*", "?", "\\", "\n", "é");
const pattern = fc.array(piece, { maxLength: 8 }).map((xs) => xs.join(""));
const value = fc.array(piece.filter((c) => c !== "*"), { maxLength: 10 }).map((xs) => xs.join(""));

describe("matchesWildcard", () => {
  it("matches the spec's examples", () => {
    assert.equal(matchesWildcard("m.room.*", "m.room.message"), true);
    assert.equal(matchesWildcard("m.room.*", "m.room."), true);
    assert.equal(matchesWildcard("m.room.*", "m.roomy"), false);
    assert.equal(matchesWildcard("*", ""), true);
    assert.equal(matchesWildcard("m.*.member", "m.room.member"), true);
    assert.equal(matchesWildcard("m.*.member", "m.room.members"), false);
    assert.equal(matchesWildcard("m.room.message", "m.room.message"), true);
    assert.equal(matchesWildcard("m.room.?essage", "m.room.message"), false); // `?` is literal here
    assert.equal(matchesWildcard("**a*", "bab"), true);
  });

  it("agrees with a reference regex", () => {
    fc.assert(fc.property(pattern, value, (p, v) => matchesWildcard(p, v) === reference(p, v)), { numRuns: 5000 });
  });

  it("agrees with the reference on values that contain `*` too", () => {
    fc.assert(fc.property(pattern, pattern, (p, v) => matchesWildcard(p, v) === reference(p, v)), { numRuns: 2000 });
  });

  it("a pattern without `*` matches only itself", () => {
    fc.assert(fc.property(value, value, (p, v) => matchesWildcard(p, v) === (p === v)));
  });

  it("stays fast on adversarial patterns", () => {
    const p = "*a".repeat(50) + "b";
    const v = "a".repeat(5000);
    assert.equal(matchesWildcard(p, v), false);
  });
});
