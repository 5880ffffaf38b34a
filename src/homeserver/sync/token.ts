// Sync and pagination tokens (ARCHITECTURE.md "Streams and a notifier that carries positions
// only"). The spec leaves tokens opaque (client-server-api#syncing: `next_batch`, `prev_batch`); ours
// are a version tag then keyed stream positions, all URL-safe characters:
//
//   s1_r123_a4_t9      a sync token, version 1: room events at 123, account data at 4, typing at 9
//   p1_42_123          a pagination token, version 1: topological 42, stream 123
//   p1_7_n15           the same at stream -15: backfilled history sits below zero
//                      (storage/stores/backfill-positions.ts)
//
// One canonical spelling per value (fixed key order, zero positions left out, no leading zeros),
// so encode(parse(s)) === s. Anything else is refused with InvalidTokenError, a 400
// M_INVALID_PARAM: the spec names no error for a bad `since`/`from`; Synapse answers 400 there too.
import { MatrixError } from "../../core/errors.ts";

/** The kinds of data that each have a position: one per section of /sync that changes apart. */
export const STREAMS = ["roomEvents", "accountData", "toDevice", "deviceLists", "typing", "receipts", "presence"] as const;
/**
 * A stream: `roomEvents` orders every room event as it is persisted, memberships and invites
 * included (a user's invites and joins ride it, notified to the user by ID); the others are their
 * /sync sections.
 */
export type StreamName = (typeof STREAMS)[number];
/** A position in every stream: what a sync token carries. */
export type StreamPositions = Readonly<Record<StreamName, number>>;

/** The positions before anything happened. */
export const ZERO_POSITIONS: StreamPositions = Object.freeze({
  roomEvents: 0,
  accountData: 0,
  toDevice: 0,
  deviceLists: 0,
  typing: 0,
  receipts: 0,
  presence: 0,
});

// The key of each stream in a version 1 token, in the order they are written. Fixed forever for
// version 1: a new stream or a new meaning needs version 2 (and v1 tokens still parse).
const V1_KEYS: readonly (readonly [StreamName, string])[] = [
  ["roomEvents", "r"],
  ["accountData", "a"],
  ["toDevice", "d"],
  ["deviceLists", "l"],
  ["typing", "t"],
  ["receipts", "c"],
  ["presence", "p"],
];

/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 256;

/** A `since`, `from` or `to` that is not a token this server wrote: 400 M_INVALID_PARAM. */
export class InvalidTokenError extends MatrixError {
  constructor(kind: "sync" | "pagination") {
    super("M_INVALID_PARAM", `Invalid ${kind} token`, 400);
    this.name = "InvalidTokenError";
  }
}

// A canonical decimal position: "0" or digits without a leading zero, at most a safe integer.
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

function decimal(text: string, kind: "sync" | "pagination"): number {
  if (!DECIMAL.test(text)) throw new InvalidTokenError(kind);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InvalidTokenError(kind);
  return value;
}

function checkPosition(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, not ${value}`);
}

/** Writes positions as a version 1 sync token. */
export function encodeSyncToken(positions: StreamPositions): string {
  let token = "s1";
  for (const [stream, key] of V1_KEYS) {
    const position = positions[stream];
    checkPosition(position, stream);
    if (position !== 0) token += `_${key}${position}`;
  }
  return token;
}

/** Reads a sync token (`since`); throws InvalidTokenError for anything this server did not write. */
export function parseSyncToken(token: string): StreamPositions {
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("sync");
  const [tag, ...parts] = token.split("_");
  if (tag !== "s1") throw new InvalidTokenError("sync");
  const positions: Record<StreamName, number> = { ...ZERO_POSITIONS };
  let next = 0; // keys must come in V1_KEYS order, each at most once
  for (const part of parts) {
    const at = V1_KEYS.findIndex(([, key], i) => i >= next && part.startsWith(key));
    const entry = V1_KEYS[at];
    if (entry === undefined) throw new InvalidTokenError("sync");
    const value = decimal(part.slice(entry[1].length), "sync");
    if (value === 0) throw new InvalidTokenError("sync"); // zeros are left out
    positions[entry[0]] = value;
    next = at + 1;
  }
  return Object.freeze(positions);
}

/** Each stream at the later of the two positions. */
export function maxPositions(a: StreamPositions, b: StreamPositions): StreamPositions {
  const out = { ...a };
  for (const stream of STREAMS) out[stream] = Math.max(a[stream], b[stream]);
  return Object.freeze(out);
}

/** Whether every position of `a` is at or before `b`'s (a token from the future is not). */
export function isAtOrBefore(a: StreamPositions, b: StreamPositions): boolean {
  return STREAMS.every((stream) => a[stream] <= b[stream]);
}

/**
 * A position in a room's timeline for /messages (client-server-api#get_matrixclientv3roomsroomidmessages):
 * the topological order (depth) and the stream order of the event just before it. `topological`
 * is null for a position taken from a sync token (`prev_batch`/`next_batch`), which the spec lets
 * clients pass as `from`/`to`: it is a point in the room events stream only.
 */
export interface RoomPosition {
  readonly topological: number | null;
  readonly stream: number;
}

/** Writes a topological position as a version 1 pagination token. */
export function encodePaginationToken(position: { readonly topological: number; readonly stream: number }): string {
  checkPosition(position.topological, "topological");
  checkPosition(Math.abs(position.stream), "stream");
  return `p1_${position.topological}_${position.stream < 0 ? `n${-position.stream}` : position.stream}`;
}

/**
 * Reads a /messages `from` or `to`: a pagination token, or a sync token (its room events
 * position). Throws InvalidTokenError for anything else.
 */
export function parsePaginationToken(token: string): RoomPosition {
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("pagination");
  if (token.startsWith("s")) {
    try {
      return { topological: null, stream: parseSyncToken(token).roomEvents };
    } catch {
      throw new InvalidTokenError("pagination");
    }
  }
  const parts = token.split("_");
  if (parts.length !== 3 || parts[0] !== "p1") throw new InvalidTokenError("pagination");
  const stream = parts[2] as string;
  // A position below zero is "n" and its magnitude ("n0" is not canonical).
  if (stream.startsWith("n") && stream !== "n0") return { topological: decimal(parts[1] as string, "pagination"), stream: -decimal(stream.slice(1), "pagination") };
  return { topological: decimal(parts[1] as string, "pagination"), stream: decimal(stream, "pagination") };
}
