import type { JsonValue } from "../json.ts";

// Parsing JSON received over federation by the rules of canonical JSON (appendices#canonical-json):
// UTF-8, no duplicate keys, numbers only integers in [-(2**53)+1, (2**53)-1] written without
// fraction or exponent, no -0. Events of room versions 1-5 may break the number rules
// (rooms/fragments/v1-canonical-json.md: servers MUST NOT strictly enforce them there).
//
// JSON.parse does the parsing; one pass over the text then finds what JSON.parse lets through
// (number spellings, nesting depth, and the member count that reveals duplicate keys), and one
// walk over the result counts the keys JSON.parse kept.

export type StrictJsonReason =
  | "invalid-utf8"
  | "invalid-json"
  | "duplicate-key"
  | "not-an-integer"
  | "number-out-of-range"
  | "negative-zero"
  | "lone-surrogate"
  | "too-deep";

/** Input that is not JSON, or JSON that canonical JSON forbids; `reason` says which rule. */
export class StrictJsonError extends Error {
  override name = "StrictJsonError";
  readonly reason: StrictJsonReason;

  constructor(reason: StrictJsonReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface StrictJsonOptions {
  /** Accept numbers as JSON.parse does (room versions 1-5); every other rule still holds. */
  lenientNumbers?: boolean;
  /**
   * Deepest nesting of arrays and objects accepted (default 1000, about where Python's json, and so
   * Synapse, stops). Keeps the recursive walks over parsed values within the stack.
   */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

// ignoreBOM keeps a leading BOM in the text, where JSON.parse then rejects it as RFC 8259 allows.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// String.prototype.isWellFormed is in every Node we support (20+) but not yet in our TS lib.
interface MaybeWellFormed {
  isWellFormed?: () => boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isWellFormed(s: string): boolean {
  const native = (s as MaybeWellFormed).isWellFormed;
  return native !== undefined ? native.call(s) : !LONE_SURROGATE.test(s);
}

// An escape that may spell half a surrogate pair; a hit only means the precise check must run.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** The index of the quote closing the string that opens at `start` (the text is valid JSON). */
function endOfString(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Checks the number starting at `start` against the canonical grammar; returns the index after it. */
function checkNumber(text: string, start: number): number {
  let end = start;
  let integer = true;
  for (;;) {
    const c = text.charCodeAt(end);
    if (c >= DIGIT_0 && c <= DIGIT_9) end++;
    else if (c === MINUS || c === PLUS) end++;
    else if (c === DOT || c === LOWER_E || c === UPPER_E) {
      integer = false;
      end++;
    } else break;
  }
  const spelled = text.slice(start, end);
  // appendices#canonical-json: "represented without exponents or decimal places".
  if (!integer) {
    throw new StrictJsonError(
      "not-an-integer",
      `number ${excerpt(spelled)} at offset ${start} is not an integer (canonical JSON has no fractions or exponents)`,
    );
  }
  // appendices#canonical-json: "negative zero -0 MUST NOT appear".
  if (spelled === "-0") throw new StrictJsonError("negative-zero", `-0 at offset ${start} is not allowed`);
  const digits = spelled.charCodeAt(0) === MINUS ? spelled.length - 1 : spelled.length;
  // 2**53-1 has 16 digits: shorter integers are always in range.
  if (digits >= 16 && !Number.isSafeInteger(Number(spelled))) {
    throw new StrictJsonError(
      "number-out-of-range",
      `integer ${excerpt(spelled)} at offset ${start} is outside [-(2**53)+1, (2**53)-1]`,
    );
  }
  return end;
}

/**
 * One pass over valid JSON text: checks number spellings (unless lenient) and nesting depth, and
 * counts object members (one colon outside strings each).
 */
function scan(text: string, lenientNumbers: boolean, maxDepth: number): number {
  let members = 0;
  let depth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i) + 1;
      continue;
    }
    if (c === COLON) {
      members++;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        throw new StrictJsonError("too-deep", `nesting deeper than ${maxDepth} at offset ${i}`);
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (!lenientNumbers && (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9))) {
      i = checkNumber(text, i);
      continue;
    }
    i++;
  }
  return members;
}

/** Counts the keys JSON.parse kept; also rejects numbers JSON.parse overflowed to Infinity. */
function countKeys(value: JsonValue): number {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new StrictJsonError("number-out-of-range", `a number is too large to be represented`);
    }
    return 0;
  }
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) count += countKeys(value[i] as JsonValue);
    return count;
  }
  const keys = Object.keys(value);
  count = keys.length;
  for (let i = 0; i < keys.length; i++) count += countKeys(value[keys[i] as string] as JsonValue);
  return count;
}

/** The first duplicate key of valid JSON text, and where it is (slow; runs once a duplicate is known). */
function findDuplicateKey(text: string): { key: string; offset: number } | undefined {
  const objects: (Set<string> | undefined)[] = []; // undefined for arrays
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      const keys = objects[objects.length - 1];
      if (expectingKey && keys !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string; // decodes escapes: "a" and "\u0061" collide
        if (keys.has(key)) return { key, offset: i };
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === OPEN_BRACE) {
      objects.push(new Set());
      expectingKey = true;
    } else if (c === OPEN_BRACKET) {
      objects.push(undefined);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      objects.pop();
    } else if (c === COMMA) {
      expectingKey = objects[objects.length - 1] !== undefined;
    }
  }
  return undefined;
}

function hasLoneSurrogate(value: JsonValue): boolean {
  if (typeof value === "string") return !isWellFormed(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  for (const key of Object.keys(value)) {
    if (!isWellFormed(key) || hasLoneSurrogate(value[key] as JsonValue)) return true;
  }
  return false;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new StrictJsonError("invalid-utf8", "the body is not valid UTF-8");
  }
}

/**
 * Parses JSON by the canonical JSON rules federation input must follow (appendices#canonical-json),
 * throwing StrictJsonError for invalid UTF-8, syntax errors, duplicate keys, lone surrogates (which
 * UTF-8 cannot carry), nesting beyond maxDepth, and, unless lenientNumbers, any number that is not
 * an integer in [-(2**53)+1, (2**53)-1] written without fraction or exponent, or that is -0.
 */
export function parseStrictJson(input: string | Uint8Array, options: StrictJsonOptions = {}): JsonValue {
  const text = typeof input === "string" ? input : decodeUtf8(input);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new StrictJsonError("invalid-json", error instanceof Error ? error.message : "not JSON");
  }
  const members = scan(text, options.lenientNumbers === true, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (countKeys(value) !== members) {
    const duplicate = findDuplicateKey(text);
    const where = duplicate === undefined ? "" : ` ${JSON.stringify(duplicate.key)} at offset ${duplicate.offset}`;
    throw new StrictJsonError("duplicate-key", `duplicate object key${where}`);
  }
  // Bytes were checked by the decoder; a string may hold raw lone surrogates, and either may escape one.
  if ((typeof input === "string" && !isWellFormed(text)) || (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value))) {
    throw new StrictJsonError("lone-surrogate", "a string holds an unpaired UTF-16 surrogate");
  }
  return value;
}

function escapePathSegment(name: string): string {
  // appendices#dot-separated-property-paths: literal dots and backslashes are escaped with a backslash.
  return name.replace(/[\\.]/g, "\\$&");
}

function findIn(value: JsonValue, path: string): string | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? undefined : path;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIn(value[i] as JsonValue, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const segment = escapePathSegment(key);
    const found = findIn(value[key] as JsonValue, path === "" ? segment : `${path}.${segment}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The path of the first number that canonical JSON does not allow (not an integer in range, or -0),
 * or undefined if there is none: for checking an event of room version 6+ found inside a leniently
 * parsed body. Paths are dot-separated (appendices#dot-separated-property-paths) with array
 * indices as `[i]`; the root itself is "". Spellings such as `1.0` or `1e2` parse to integers and
 * cannot be seen here: parse strictly where the text is at hand.
 */
export function findNonCanonicalNumber(value: JsonValue): string | undefined {
  return findIn(value, "");
}
