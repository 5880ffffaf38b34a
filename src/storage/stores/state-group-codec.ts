// The bytes of a state group's delta (room-state.ts): entries (key nid, event nid) sorted by key
// nid, written as unsigned LEB128 varints: the entry count, then per entry the gap from the
// previous key nid and the event nid, 0 standing for "the key leaves the state". Nids are small
// positive integers, so an entry takes 3 to 5 bytes instead of the 50-odd of two rows' text.

/** One entry of a delta: the (type, state_key) nid and the event nid, 0 for a removed key. */
export type NidEntry = readonly [keyNid: number, eventNid: number];

/** The nid written for a key that leaves the state. */
export const REMOVED = 0;

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(buffer: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    buffer[offset++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buffer[offset++] = n;
  return offset;
}

function checkNid(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} ${n} is not a non-negative safe integer`);
}

/** Encodes entries (any order; key nids must be distinct) as the delta bytes. */
export function encodeStateDelta(entries: readonly NidEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  let length = varintLength(sorted.length);
  let previous = 0;
  for (const [keyNid, eventNid] of sorted) {
    checkNid(keyNid, "key nid");
    checkNid(eventNid, "event nid");
    if (keyNid <= previous && previous !== 0) throw new RangeError(`key nid ${keyNid} appears twice`);
    length += varintLength(keyNid - previous) + varintLength(eventNid);
    previous = keyNid;
  }
  const buffer = new Uint8Array(length);
  let offset = writeVarint(buffer, 0, sorted.length);
  previous = 0;
  for (const [keyNid, eventNid] of sorted) {
    offset = writeVarint(buffer, offset, keyNid - previous);
    offset = writeVarint(buffer, offset, eventNid);
    previous = keyNid;
  }
  return buffer;
}

/** How many entries delta bytes hold (their first varint), without decoding them. */
export function stateDeltaEntryCount(bytes: Uint8Array): number {
  let n = 0;
  let scale = 1;
  for (const byte of bytes) {
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return n;
    scale *= 0x80;
  }
  throw new RangeError("state delta bytes end inside a number");
}

/** Decodes delta bytes; throws on bytes that are not a well-formed delta. */
export function decodeStateDelta(bytes: Uint8Array): NidEntry[] {
  let offset = 0;
  const read = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[offset++];
      if (byte === undefined) throw new RangeError("state delta bytes end inside a number");
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError("state delta number is too long");
    }
  };
  const count = read();
  const entries: NidEntry[] = [];
  let keyNid = 0;
  for (let i = 0; i < count; i++) {
    keyNid += read();
    entries.push([keyNid, read()]);
  }
  if (offset !== bytes.length) throw new RangeError("state delta has trailing bytes");
  return entries;
}
