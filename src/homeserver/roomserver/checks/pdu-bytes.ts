// The canonical JSON a received PDU's checks hash and measure, with each top-level member encoded
// once. A PDU's checks need four encodings of it: the whole event (the size limit), the redacted
// event without `signatures` and `unsigned` (its reference hash, hence its event ID; and exactly
// the bytes its signatures cover), the event without `unsigned`, `signatures` and `hashes` (the
// content hash), and the event without `unsigned` (what we store). Canonical JSON of an object is
// its members sorted by key and joined (appendices#canonical-json), so each of those is a join of
// the same member encodings; only a redacted `content` needs an encoding of its own.
import { CanonicalJsonError, canonicalJson, compareCodePoints } from "../../../core/canonical-json/canonical-json.ts";
import { EventFormatError } from "../../../core/events/event-format-error.ts";
import { eventJsonOptions } from "../../../core/events/event-json.ts";
import { MAX_PDU_BYTES } from "../../../core/events/limits.ts";
import { redactEvent } from "../../../core/events/redaction.ts";
import type { Pdu } from "../../../core/events/room-event.ts";
import type { JsonValue } from "../../../core/json.ts";
import type { RoomVersion } from "../../../core/room-versions/room-versions.ts";

/** Members left out of the content hash (server-server-api "Calculating the content hash for an event"). */
const NOT_HASHED = new Set(["unsigned", "signatures", "hashes"]);
/** Members left out of the reference hash and of what signatures cover (appendices#signing-details). */
const NOT_SIGNED = new Set(["signatures", "unsigned"]);
/** The member left out of what we store. */
const NOT_STORED = new Set(["unsigned"]);

/** An object's keys in canonical order: code point order, which is the default sort without surrogates. */
function sortedKeys(object: Pdu): string[] {
  const keys = Object.keys(object);
  for (const key of keys) {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) return keys.sort(compareCodePoints);
    }
  }
  return keys.sort();
}

function objectText(members: readonly string[]): string {
  return `{${members.join(",")}}`;
}

export class PduBytes {
  readonly pdu: Pdu;
  readonly #version: RoomVersion;
  /** Its keys in canonical order. */
  readonly #keys: readonly string[];
  /** Key -> the member's canonical text, `"key":value`. */
  readonly #members = new Map<string, string>();
  /** Bytes of the whole event's canonical JSON. */
  readonly size: number;
  #essential: Buffer | undefined;

  /**
   * Encodes the members of a PDU that passed checkPduFormat (so it nests within the limit).
   * Throws EventFormatError "not_canonical_json" as encodeEventJson does, for the same first fault.
   */
  constructor(pdu: Pdu, version: RoomVersion, reuse?: { readonly members: ReadonlyMap<string, string>; readonly changed: string }) {
    this.pdu = pdu;
    this.#version = version;
    this.#keys = sortedKeys(pdu);
    // The braces, and a comma between members.
    let size = 2;
    for (const key of this.#keys) {
      const value = pdu[key];
      if (value === undefined) continue;
      const member = (key === reuse?.changed ? undefined : reuse?.members.get(key)) ?? `${JSON.stringify(key)}:${this.#encode(value)}`;
      this.#members.set(key, member);
      size += Buffer.byteLength(member, "utf8") + (this.#members.size > 1 ? 1 : 0);
    }
    this.size = size;
  }

  /**
   * The encodings of this PDU with member `key` set to `value`, the other members' encodings
   * reused: our own events get their `hashes`, then their `signatures`, after the rest is encoded.
   */
  withMember(key: string, value: JsonValue): PduBytes {
    const next = new PduBytes({ ...this.pdu, [key]: value }, this.#version, { members: this.#members, changed: key });
    // What the signatures cover leaves them out: a new `signatures` does not change it.
    if (NOT_SIGNED.has(key)) next.#essential = this.#essential;
    return next;
  }

  /** Whether the whole event is within the size limit (client-server-api "Size limits"). */
  get tooLarge(): boolean {
    return this.size > MAX_PDU_BYTES;
  }

  /** The reference hash input, which is also what the signatures cover (memoised). */
  essential(): Buffer {
    if (this.#essential === undefined) {
      const redacted = redactEvent(this.pdu, this.#version);
      const members: string[] = [];
      // Redaction keeps a subset of the keys, so they are in the order already sorted.
      for (const key of this.#keys) {
        if (!Object.hasOwn(redacted, key) || NOT_SIGNED.has(key)) continue;
        const value = redacted[key];
        if (value === undefined) continue;
        // Redaction keeps most members as they are (the same value): their encoding is reused.
        const same = value === this.pdu[key] ? this.#members.get(key) : undefined;
        members.push(same ?? `${JSON.stringify(key)}:${this.#encode(value)}`);
      }
      this.#essential = Buffer.from(objectText(members), "utf8");
    }
    return this.#essential;
  }

  /** The content hash input, as text. */
  contentHashed(): string {
    return this.#without(NOT_HASHED);
  }

  /** The event without `unsigned` (the sender's, covered by no hash or signature), as we store it. */
  stored(): string {
    return this.#without(NOT_STORED);
  }

  #without(left: ReadonlySet<string>): string {
    const members: string[] = [];
    for (const key of this.#keys) {
      const member = this.#members.get(key);
      if (member !== undefined && !left.has(key)) members.push(member);
    }
    return objectText(members);
  }

  #encode(value: JsonValue): string {
    try {
      return canonicalJson(value, eventJsonOptions(this.#version));
    } catch (err) {
      if (err instanceof CanonicalJsonError) {
        throw new EventFormatError("not_canonical_json", `room version ${this.#version.id}: ${err.message}`);
      }
      throw err;
    }
  }
}
