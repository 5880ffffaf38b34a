// Glob matching for push rules (appendices#glob-style-matching, modules/push.md#conditions-1): the
// spec's examples, and properties checked against a regular expression built from the pattern.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileGlob, foldText, globMatches, literalGlob } from "../../../src/core/push/glob.ts";

const whole = (pattern: string, value: string) => globMatches(compileGlob(pattern), foldText(value), "whole");
const words = (pattern: string, value: string) => globMatches(compileGlob(pattern), foldText(value), "words");

/** The reference: the glob as a regular expression (fine for the short strings tested). */
function reference(pattern: string, value: string, mode: "whole" | "words"): boolean {
  const body = Array.from(pattern, (c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[\\^$.|+()[\]{}*?]/g, "\\$&"))).join("");
  const source = mode === "whole" ? `^${body}$` : `(?<![A-Za-z0-9_])${body}(?![A-Za-z0-9_])`;
  return new RegExp(source, "iu").test(value);
}

// ASCII letters, digits, a separator and the wildcards: where case folding is plain.
const patternChars = fc.constantFrom("a", "b", "A", "B", "1", "_", " ", "-", ".", "*", "?");
const valueChars = fc.constantFrom("a", "b", "A", "B", "1", "_", " ", "-", ".");
const patterns = fc.array(patternChars, { maxLength: 8 }).map((cs) => cs.join(""));
const values = fc.array(valueChars, { maxLength: 12 }).map((cs) => cs.join(""));

describe("glob matching (appendices#glob-style-matching)", () => {
  it("matches the spec's event_match examples: content.topic against lunc?*", () => {
    assert.equal(whole("lunc?*", "Lunch plans"), true);
    assert.equal(whole("lunc?*", "LUNCH"), true, "case-insensitive; * may match zero characters");
    assert.equal(whole("lunc?*", " lunch"), false, "note the leading space");
    assert.equal(whole("lunc?*", "lunc"), false, "? must match a character");
  });

  it("matches the spec's content.body examples by words: ex*ple", () => {
    assert.equal(words("ex*ple", "An example event."), true);
    assert.equal(words("ex*ple", "exple"), true, "the pattern can match at the start and end of the body");
    assert.equal(words("ex*ple", "An exciting triple-whammy"), true, "it can span words, and - separates words");
    assert.equal(words("ex*ple", "Anexample event"), false, "it must start at a word boundary");
    assert.equal(words("ex*ple", "An examples event"), false, "and end at one");
    assert.equal(words("cake", "I like cake_pops"), false, "_ is a word character");
    assert.equal(words("cake", "cake!"), true);
    assert.equal(words("cake", "Ünicode then cake"), true);
  });

  it("takes ? as one code point, not one UTF-16 unit, and folds case beyond ASCII", () => {
    assert.equal(whole("a?b", "a😀b"), true);
    assert.equal(whole("ÉCOLE", "école"), true);
    assert.equal(whole("σ", "ς"), true, "final sigma folds with sigma");
  });

  it("matches a display name as a literal, wildcards and all", () => {
    assert.equal(globMatches(literalGlob("B*b"), foldText("hi b*B!"), "words"), true);
    assert.equal(globMatches(literalGlob("B*b"), foldText("hi Bob"), "words"), false);
  });

  it("stays fast on patterns a backtracking matcher would stall on", () => {
    const started = performance.now();
    assert.equal(words("*a*a*a*a*a*a*a*a*b", "a".repeat(20_000)), false);
    assert.ok(performance.now() - started < 2000);
  });

  it("agrees with a regular expression, whole and by words (property)", () => {
    fc.assert(
      fc.property(patterns, values, (pattern, value) => {
        assert.equal(whole(pattern, value), reference(pattern, value, "whole"), `whole ${JSON.stringify(pattern)} ${JSON.stringify(value)}`);
        assert.equal(words(pattern, value), reference(pattern, value, "words"), `words ${JSON.stringify(pattern)} ${JSON.stringify(value)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it("is case-insensitive, and a whole match is also a match by words (property)", () => {
    fc.assert(
      fc.property(patterns, values, (pattern, value) => {
        assert.equal(whole(pattern, value), whole(pattern.toUpperCase(), value.toLowerCase()));
        if (whole(pattern, value)) assert.equal(words(pattern, value), true);
      }),
    );
  });

  it("matches every string with *, and a string without wildcards matches itself alone (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (value, other) => {
        assert.equal(whole("*", value), true);
        const literal = value.replace(/[*?]/g, "");
        assert.equal(whole(literal, literal), true);
        const plain = other.replace(/[*?]/g, "");
        const folded = (s: string) => foldText(s).folded.join("\u0000");
        if (folded(plain) !== folded(literal)) assert.equal(whole(literal, plain), false);
      }),
    );
  });
});
