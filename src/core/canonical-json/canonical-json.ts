import type { JsonValue } from "../json.ts";

// Canonical JSON (appendices#canonical-json): the shortest UTF-8 encoding, object keys sorted by
// Unicode code point, integers only in [-(2**53)+1, (2**53)-1], no -0.

export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // (2**53)-1
export const MIN_SAFE_INTEGER = Number.MIN_SAFE_INTEGER; // -(2**53)+1

export class CanonicalJsonError extends Error {
  override name = "CanonicalJsonError";
}

export interface CanonicalJsonOptions {
  /**
   * Room versions 1-5 predate the strict rules (rooms/fragments/v1-canonical-json.md): their events
   * may hold floats or out-of-range integers, which are then encoded as JSON.stringify does.
   */
  lenientNumbers?: boolean;
}

/** Compares two strings by Unicode code point (UTF-16 code unit order differs above the BMP). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800-0xDFFF) encodes a code point above 0xFFFF, which outranks 0xE000-0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}

function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

function sortKeys(keys: string[]): string[] {
  // Plain sort is code point order unless a key holds a surrogate pair.
  return keys.some(hasSurrogate) ? keys.sort(compareCodePoints) : keys.sort();
}

function encodeNumber(n: number, lenient: boolean): string {
  if (Number.isInteger(n) && n >= MIN_SAFE_INTEGER && n <= MAX_SAFE_INTEGER) {
    return Object.is(n, -0) ? "0" : String(n);
  }
  if (lenient && Number.isFinite(n)) return JSON.stringify(n);
  throw new CanonicalJsonError(`number ${n} is not an integer in the canonical JSON range`);
}

function encode(value: JsonValue, lenient: boolean, out: string[]): void {
  switch (typeof value) {
    case "string":
      // JSON.stringify escapes exactly ", \ and the control characters (short forms for \b\f\n\r\t,
      // \u00xx lowercase otherwise), as the canonical grammar requires.
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(encodeNumber(value, lenient));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      if (value === null) {
        out.push("null");
        return;
      }
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          encode(value[i] as JsonValue, lenient, out);
        }
        out.push("]");
        return;
      }
      out.push("{");
      {
        let first = true;
        for (const key of sortKeys(Object.keys(value))) {
          const v = value[key];
          if (v === undefined) continue; // absent, as JSON.stringify treats it
          if (!first) out.push(",");
          first = false;
          out.push(JSON.stringify(key), ":");
          encode(v, lenient, out);
        }
      }
      out.push("}");
      return;
    default:
      throw new CanonicalJsonError(`${typeof value} is not a JSON value`);
  }
}

/** Encodes a value as canonical JSON text (its UTF-8 bytes are what gets signed and hashed). */
export function canonicalJson(value: JsonValue, options: CanonicalJsonOptions = {}): string {
  const out: string[] = [];
  encode(value, options.lenientNumbers === true, out);
  return out.join("");
}

/** The canonical JSON encoding as UTF-8 bytes. */
export function canonicalJsonBytes(value: JsonValue, options: CanonicalJsonOptions = {}): Buffer {
  return Buffer.from(canonicalJson(value, options), "utf8");
}
