// fast-check generators of JSON values for the canonical JSON, strict parse, signing and event tests.
import fc from "fast-check";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";

// Characters around the places where UTF-16 order and code point order part ways.
const boundaryCharacter = fc.constantFrom("a", "~", "\u00e9", "\ud7ff", "\ue000", "\uff61", "\uffff", "\u{10000}", "\u{1f600}", "\u{10ffff}");

/** Strings of any code points, astral ones included (no lone surrogates). */
export const anyString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: boundaryCharacter, maxLength: 4 }),
);

/** Integers in the canonical range [-(2**53)+1, (2**53)-1]. */
export const canonicalInteger = fc.maxSafeInteger();

/** Values canonical JSON can encode: integers only, keys of any code points. */
export const canonicalValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    canonicalInteger,
    anyString,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(anyString, tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** Objects canonical JSON can encode. */
export const canonicalObject: fc.Arbitrary<JsonObject> = fc.dictionary(anyString, canonicalValue, { maxKeys: 8 });

/**
 * Small JSON values of fast-check's default strings and integers, nested a little (arrays of up to
 * 3, objects of up to 3 keys): the random content and extra keys of the event tests. With
 * `floats`, finite doubles too (not canonical JSON: for hostile input).
 */
export function smallJson(options: { floats?: boolean } = {}): fc.Arbitrary<JsonValue> {
  const leaf = options.floats === true
    ? fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))
    : fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
  return fc.letrec<{ json: JsonValue }>((tie) => ({
    json: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("json"), { maxLength: 3 }),
      fc.dictionary(fc.string(), tie("json"), { maxKeys: 3 }),
    ),
  })).json;
}

/** A copy of a value with every object's keys in another order, chosen by the seed. */
export function reorderKeys(value: JsonValue, seed: number): JsonValue {
  if (Array.isArray(value)) return value.map((v, i) => reorderKeys(v, seed + i));
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  const turn = keys.length === 0 ? 0 : seed % keys.length;
  const order = keys.slice(turn).concat(keys.slice(0, turn));
  if (seed % 2 === 1) order.reverse();
  const out: JsonObject = {};
  for (const k of order) {
    // defineProperty so a "__proto__" key stays a member rather than setting the prototype.
    Object.defineProperty(out, k, {
      value: reorderKeys(value[k] as JsonValue, seed * 31 + 7),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
