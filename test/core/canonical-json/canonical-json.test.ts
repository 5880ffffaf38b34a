import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, canonicalJsonBytes, compareCodePoints } from "../../../src/core/canonical-json/canonical-json.ts";
import type { JsonValue } from "../../../src/core/json.ts";
import { anyString, canonicalObject, canonicalValue, reorderKeys } from "./arbitraries.ts";

// appendices "Canonical JSON" → "Examples": each input text and the canonical JSON it gives.
const examples: [input: string, canonical: string][] = [
  ["{}", "{}"],
  ['{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'],
  ['{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'],
  ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
  [
    `{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}`,
    '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
  ],
  ['{\n    "a": "日本語"\n}', '{"a":"日本語"}'],
  ['{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'],
  ['{\n    "a": "\\u65E5"\n}', '{"a":"日"}'],
  ['{\n    "a": null\n}', '{"a":null}'],
  ['{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'],
];

describe("canonicalJson: the spec's examples", () => {
  for (const [input, canonical] of examples) {
    it(`encodes ${canonical}`, () => {
      assert.equal(canonicalJson(JSON.parse(input) as JsonValue), canonical);
      assert.deepEqual(canonicalJsonBytes(JSON.parse(input) as JsonValue), Buffer.from(canonical, "utf8"));
    });
  }
});

describe("canonicalJson", () => {
  it("uses the grammar's escapes: short forms, lowercase \\u00XX for other controls, nothing else", () => {
    assert.equal(canonicalJson("\b\t\n\f\r\"\\"), '"\\b\\t\\n\\f\\r\\"\\\\"');
    assert.equal(canonicalJson("\u0000\u0007\u000b\u000e\u001f\u007f/é"), '"\\u0000\\u0007\\u000b\\u000e\\u001f\u007f/é"');
  });

  it("sorts astral keys after the rest of the BMP, as code points order them", () => {
    // U+1F600 is UTF-16 D83D DE00, below U+FF61 as code units but above it as a code point.
    assert.equal(canonicalJson({ "😀": 1, "｡": 2, a: 3 }), '{"a":3,"｡":2,"😀":1}');
  });

  it("rejects numbers outside the canonical range unless lenient", () => {
    assert.throws(() => canonicalJson([1.5]));
    assert.throws(() => canonicalJson([2 ** 53]));
    assert.throws(() => canonicalJson([Number.NaN], { lenientNumbers: true }));
    assert.equal(canonicalJson([1.5, 2 ** 53], { lenientNumbers: true }), "[1.5,9007199254740992]");
    assert.equal(canonicalJson([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), "[9007199254740991,-9007199254740991]");
  });

  it("keeps a __proto__ key as a member", () => {
    assert.equal(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":2}}') as JsonValue), '{"__proto__":{"x":2},"b":1}');
  });
});

// A reference order: compare the code point sequences.
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

const ESCAPE = /\\(?:[btnfr"\\]|u000[0-7bef]|u001[0-9a-f])/g;

describe("canonicalJson properties", () => {
  it("round-trips through JSON.parse", () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value);
        assert.equal(canonicalJson(JSON.parse(text) as JsonValue), text);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it("does not depend on the order of keys", () => {
    fc.assert(
      fc.property(canonicalValue, fc.nat(), (value, seed) => {
        assert.equal(canonicalJson(reorderKeys(value, seed)), canonicalJson(value));
      }),
    );
  });

  it("writes keys in code point order, astral characters included", () => {
    fc.assert(
      fc.property(canonicalObject, (object) => {
        const members = Object.keys(object)
          .sort(byCodePoint)
          .map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k] as JsonValue)}`);
        assert.equal(canonicalJson(object), `{${members.join(",")}}`);
      }),
    );
  });

  it("compareCodePoints agrees with code point order", () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(byCodePoint(a, b)));
      }),
      { numRuns: 500 },
    );
  });

  it("uses only the escapes of the canonical grammar and no insignificant white space", () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value);
        // Take strings out; what remains is structure and literals only.
        const outside = text.replace(/"(?:[^"\\]|\\.)*"/g, (s) => {
          assert.equal(s.replace(ESCAPE, "").includes("\\"), false, `unexpected escape in ${s}`);
          assert.equal([...s].some((c) => c < " "), false, `raw control character in ${s}`);
          return '""';
        });
        assert.equal(/\s/.test(outside), false);
      }),
    );
  });
});
