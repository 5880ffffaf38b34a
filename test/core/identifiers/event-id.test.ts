import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseEventId } from "../../../src/core/identifiers/event-id.ts";
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../../../src/core/crypto/base64.ts";
import { anyString } from "./arbitraries.ts";

// The spec's examples: rooms/v3.md, rooms/fragments/v4-event-ids.md and rooms/fragments/v1-event-ids.md.
const V3_EXAMPLES = ["$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk", "$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o"];
const V4_EXAMPLE = "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg";
const V1_EXAMPLE = "$randomstring:example.org";

// [id, valid as v1, as v3, as v4]
const table: [string, boolean, boolean, boolean][] = [
  [V1_EXAMPLE, true, false, false],
  ["$1234567890abcdef:matrix.org:8448", true, false, false],
  ["$a\u00e9b:[::1]", true, false, false],
  [V3_EXAMPLES[0] as string, false, true, false],
  [V3_EXAMPLES[1] as string, false, true, true], // no + or /, so also URL-safe
  [V4_EXAMPLE, false, false, true],
  ["$" + "A".repeat(43), false, true, true],
  // Not a hash: wrong length, a non-canonical last character, padding, other characters.
  ["$" + "A".repeat(42), false, false, false],
  ["$" + "A".repeat(44), false, false, false],
  ["$" + "A".repeat(42) + "B", false, false, false],
  ["$" + "A".repeat(42) + "=", false, false, false],
  ["$" + "A".repeat(41) + "*A", false, false, false],
  ["$" + "A".repeat(41) + "+-A", false, false, false], // mixes both alphabets
  // Not v1 either.
  ["$:example.org", false, false, false],
  ["$abc", false, false, false],
  ["$abc:", false, false, false],
  ["$abc:bad_server", false, false, false],
  ["$a\u0000b:example.org", false, false, false],
  [`$${"a".repeat(255 - 12)}:example.org`, false, false, false], // 256 bytes
  [`$${"a".repeat(255 - 13)}:example.org`, true, false, false], // 255 bytes
  ["$", false, false, false],
  ["", false, false, false],
  ["!" + V4_EXAMPLE.slice(1), false, false, false],
];

describe("parseEventId", () => {
  for (const [id, v1, v3, v4] of table) {
    it(`${JSON.stringify(id.slice(0, 50))}: v1 ${v1}, v3 ${v3}, v4 ${v4}`, () => {
      assert.equal(parseEventId(id, "v1"), v1 ? id : undefined);
      assert.equal(parseEventId(id, "v3"), v3 ? id : undefined);
      assert.equal(parseEventId(id, "v4"), v4 ? id : undefined);
      assert.equal(parseEventId(id), v1 || v3 || v4 ? id : undefined, "any format without the argument");
    });
  }

  it("accepts the encoding of any SHA-256 hash in the format of its alphabet", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (hash) => {
        const v3 = `$${encodeUnpaddedBase64(hash)}`;
        const v4 = `$${encodeUnpaddedBase64Url(hash)}`;
        assert.equal(parseEventId(v3, "v3"), v3);
        assert.equal(parseEventId(v4, "v4"), v4);
        assert.equal(parseEventId(v3), v3);
        assert.equal(parseEventId(v4), v4);
      }),
    );
  });

  it("accepts with a format only what it accepts without one, and never throws", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        for (const id of [s, `$${s}`, `$${s}:example.org`]) {
          const any = parseEventId(id);
          for (const format of ["v1", "v3", "v4"] as const) {
            if (parseEventId(id, format) !== undefined) assert.equal(any, id);
          }
        }
      }),
    );
  });
});
