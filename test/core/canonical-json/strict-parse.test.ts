import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { canonicalJson } from "../../../src/core/canonical-json/canonical-json.ts";
import {
  findNonCanonicalNumber,
  parseStrictJson,
  StrictJsonError,
} from "../../../src/core/canonical-json/strict-parse.ts";
import type { StrictJsonOptions, StrictJsonReason } from "../../../src/core/canonical-json/strict-parse.ts";
import type { JsonValue } from "../../../src/core/json.ts";
import { canonicalValue } from "./arbitraries.ts";

function reasonOf(input: string | Uint8Array, options?: StrictJsonOptions): StrictJsonReason | "ok" {
  try {
    parseStrictJson(input, options);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof StrictJsonError, `unexpected ${String(error)}`);
    return error.reason;
  }
}

const lenient = { lenientNumbers: true };

describe("parseStrictJson accepts", () => {
  it("JSON with white space, escapes and every kind of value", () => {
    const text = ' { "a" : [ 1 , -2 , true , false , null , "x\\"y\\\\" , { } , [ ] ] ,\n\t"b\\u0063" : "\\ud83d\\ude00" } ';
    assert.deepEqual(parseStrictJson(text), { a: [1, -2, true, false, null, 'x"y\\', {}, []], bc: "😀" });
  });

  it("the integer bounds, as text or UTF-8 bytes", () => {
    assert.deepEqual(parseStrictJson("[9007199254740991,-9007199254740991,0]"), [2 ** 53 - 1, -(2 ** 53 - 1), 0]);
    assert.deepEqual(parseStrictJson(Buffer.from('{"日本":"語"}')), { 日本: "語" });
  });

  it("scalars at the top level", () => {
    assert.equal(parseStrictJson('"x"'), "x");
    assert.equal(parseStrictJson("12"), 12);
    assert.equal(parseStrictJson("null"), null);
  });

  it("a member named __proto__ as data", () => {
    const value = parseStrictJson('{"__proto__":{"a":1}}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(value, "__proto__"));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  it("colons, braces and digits inside strings as text", () => {
    assert.deepEqual(parseStrictJson('{"a:b":"{[1.5:-0]}","c\\\\":"\\\\"}'), { "a:b": "{[1.5:-0]}", "c\\": "\\" });
  });
});

describe("parseStrictJson rejects", () => {
  it("what JSON.parse rejects", () => {
    for (const text of ["", "{", "[1,]", "{'a':1}", "01", "NaN", "[1] x", '"\u0001"', "\ufeff{}", "{\"a\"}"]) {
      assert.equal(reasonOf(text), "invalid-json", text);
    }
  });

  it("invalid UTF-8", () => {
    const cases = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe6, 0x97], [0xf4, 0x90, 0x80, 0x80]];
    for (const bytes of cases) {
      assert.equal(reasonOf(Uint8Array.from([0x22, ...bytes, 0x22])), "invalid-utf8", String(bytes));
    }
  });

  it("duplicate keys at any depth, however they are spelled", () => {
    assert.equal(reasonOf('{"a":1,"a":1}'), "duplicate-key");
    assert.equal(reasonOf('[{"x":{"a":1,"b":{},"\\u0061":2}}]'), "duplicate-key");
    assert.equal(reasonOf('{"a":1,"a":1}', lenient), "duplicate-key");
    assert.throws(() => parseStrictJson('{"k":[{"b":1,"c":2,"b":3}]}'), /duplicate object key "b" at offset 19/);
    // The same key in sibling objects is no duplicate.
    assert.equal(reasonOf('[{"a":1},{"a":2,"b":{"a":3}}]'), "ok");
  });

  it("fractions, exponents, -0 and integers out of range, unless lenient", () => {
    const cases: [string, StrictJsonReason][] = [
      ["1.5", "not-an-integer"],
      ["1.0", "not-an-integer"],
      ["1e2", "not-an-integer"],
      ["1E+2", "not-an-integer"],
      ["-1e-2", "not-an-integer"],
      ["-0", "negative-zero"],
      ["9007199254740992", "number-out-of-range"],
      ["-9007199254740992", "number-out-of-range"],
      ["12345678901234567890", "number-out-of-range"],
    ];
    for (const [number, reason] of cases) {
      assert.equal(reasonOf(`{"a":[${number}]}`), reason, number);
      assert.deepEqual(parseStrictJson(`{"a":[${number}]}`, lenient), JSON.parse(`{"a":[${number}]}`));
    }
    assert.equal(reasonOf("[-0.0]"), "not-an-integer");
  });

  it("numbers JSON.parse turns into Infinity, even when lenient", () => {
    assert.equal(reasonOf("[1e400]", lenient), "number-out-of-range");
    assert.equal(reasonOf("[-1e400]", lenient), "number-out-of-range");
  });

  it("lone surrogates, raw or escaped", () => {
    assert.equal(reasonOf('["\\ud800"]'), "lone-surrogate");
    assert.equal(reasonOf('{"\\udc00":1}'), "lone-surrogate");
    assert.equal(reasonOf('["\\ude00\\ud83d"]'), "lone-surrogate");
    assert.equal(reasonOf('["\ud800"]'), "lone-surrogate");
    assert.equal(reasonOf('["\\\\ud800"]'), "ok");
  });

  it("nesting deeper than maxDepth", () => {
    const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);
    assert.equal(reasonOf(deep(1000)), "ok");
    assert.equal(reasonOf(deep(1001)), "too-deep");
    assert.equal(reasonOf(deep(100_000)), "too-deep");
    assert.equal(reasonOf(`{"a":${deep(3)}}`, { maxDepth: 3 }), "too-deep");
    assert.equal(reasonOf(`{"a":${deep(2)}}`, { maxDepth: 3 }), "ok");
  });
});

// Objects written as member lists, so that a key may repeat; the keys come from a small set and
// are sometimes spelled with \u escapes, which JSON.parse decodes to the same key.
type Tree = { kind: "object"; members: [string, boolean, Tree][] } | { kind: "array"; items: Tree[] } | { kind: "leaf" };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant<Tree>({ kind: "leaf" }),
    fc.array(tie("tree"), { maxLength: 3 }).map((items): Tree => ({ kind: "array", items })),
    fc
      .array(fc.tuple(fc.constantFrom("a", "b", "c", "ab"), fc.boolean(), tie("tree")), { maxLength: 4 })
      .map((members): Tree => ({ kind: "object", members })),
  ),
})).tree;

function render(t: Tree): string {
  switch (t.kind) {
    case "leaf":
      return '"v:{"';
    case "array":
      return `[${t.items.map(render).join(",")}]`;
    case "object":
      return `{${t.members
        .map(([key, escaped, value]) => {
          const spelled = escaped ? [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("") : key;
          return `"${spelled}" : ${render(value)}`;
        })
        .join(",")}}`;
  }
}

function hasDuplicate(t: Tree): boolean {
  if (t.kind === "leaf") return false;
  if (t.kind === "array") return t.items.some(hasDuplicate);
  const keys = t.members.map(([key]) => key);
  return new Set(keys).size !== keys.length || t.members.some(([, , value]) => hasDuplicate(value));
}

describe("parseStrictJson properties", () => {
  it("accepts every canonicalJson output, as text, bytes or pretty-printed", () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value);
        const expected = JSON.parse(text) as JsonValue;
        assert.deepEqual(parseStrictJson(text), expected);
        assert.deepEqual(parseStrictJson(Buffer.from(text, "utf8")), expected);
        assert.deepEqual(parseStrictJson(JSON.stringify(value, null, 2)), expected);
      }),
    );
  });

  it("finds a duplicate key exactly when there is one", () => {
    fc.assert(
      fc.property(tree, (t) => {
        assert.equal(reasonOf(render(t)), hasDuplicate(t) ? "duplicate-key" : "ok");
      }),
      { numRuns: 300 },
    );
  });

  it("rejects any number that is not an integer, unless lenient", () => {
    fc.assert(
      fc.property(
        canonicalValue,
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
        (value, d) => {
          const text = `[${canonicalJson(value)},${JSON.stringify(d)}]`;
          assert.equal(reasonOf(text), "not-an-integer");
          assert.deepEqual(parseStrictJson(text, lenient), JSON.parse(text));
        },
      ),
    );
  });

  it("rejects integers outside [-(2**53)+1, (2**53)-1], unless lenient", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }), fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 53n) })),
        (n) => {
          const text = `{"n":${n}}`;
          assert.equal(reasonOf(text), "number-out-of-range");
          assert.equal(reasonOf(text, lenient), "ok");
        },
      ),
    );
  });

  it("rejects exactly the byte strings that are not UTF-8", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        // Quote the bytes; remove what would end the string or need an escape so JSON stays valid.
        const inner = bytes.filter((b) => b >= 0x20 && b !== 0x22 && b !== 0x5c);
        const text = Uint8Array.from([0x22, ...inner, 0x22]);
        assert.equal(reasonOf(text), isUtf8(text) ? "ok" : "invalid-utf8");
      }),
      { numRuns: 300 },
    );
  });

  it("rejects whatever JSON.parse rejects", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        if (!valid) assert.equal(reasonOf(text, lenient), "invalid-json");
      }),
      { numRuns: 300 },
    );
  });
});

describe("findNonCanonicalNumber", () => {
  it("is undefined when every number is a canonical integer", () => {
    assert.equal(findNonCanonicalNumber({ a: [1, -2, { b: 2 ** 53 - 1 }], c: "1.5" }), undefined);
    assert.equal(findNonCanonicalNumber(null), undefined);
  });

  it("names the first offending number with a dot-separated path", () => {
    assert.equal(findNonCanonicalNumber({ a: 1, content: { list: [0, { x: 1.5 }] } }), "content.list[1].x");
    assert.equal(findNonCanonicalNumber({ content: { "m.relates_to": { "a\\b": 2 ** 53 } } }), "content.m\\.relates_to.a\\\\b");
    assert.equal(findNonCanonicalNumber({ a: -0 }), "a");
    assert.equal(findNonCanonicalNumber([Number.POSITIVE_INFINITY]), "[0]");
    assert.equal(findNonCanonicalNumber(0.5), "");
  });

  it("agrees with strict parsing on parsed values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const text = JSON.stringify(value);
        const lenientValue = parseStrictJson(text, lenient);
        // JSON.stringify spells every integer-valued double as an integer, so the two views agree.
        assert.equal(findNonCanonicalNumber(lenientValue) === undefined, reasonOf(text) === "ok");
      }),
    );
  });
});
