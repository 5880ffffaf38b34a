import { parseEventId } from "../identifiers/event-id.ts";
import { parseRoomId } from "../identifiers/room-id.ts";
import { parseUserId } from "../identifiers/user-id.ts";
import { isJsonObject } from "../json.ts";
import { packedMap } from "../packed-map.ts";
import type { JsonObject, JsonValue } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { EventFormatError } from "./event-format-error.ts";
import { MAX_EVENT_JSON_NESTING, isNestingWithin } from "./event-json.ts";
import { MAX_EVENT_ID_BYTES, computeEventId } from "./event-id.ts";

// The PDU formats of the room versions (data/api/server-server/definitions/pdu_v1, v3, v4, v6,
// v11, v12.yaml and their components/): required keys, their JSON types and reference formats.

/** pdu_v*.yaml `prev_events`: "Must contain less than or equal to 20 events." */
export const MAX_PREV_EVENTS = 20;
/** pdu_v*.yaml `auth_events`: "Must contain less than or equal to 10 events." */
export const MAX_AUTH_EVENTS = 10;

function missing(key: string): EventFormatError {
  return new EventFormatError("missing_key", `${key} is required`, key);
}

function wrongType(key: string, expected: string): EventFormatError {
  return new EventFormatError("wrong_type", `${key} must be ${expected}`, key);
}

function requireString(pdu: JsonObject, key: string): string {
  const value = pdu[key];
  if (value === undefined) throw missing(key);
  if (typeof value !== "string") throw wrongType(key, "a string");
  return value;
}

function requireInteger(pdu: JsonObject, key: string): number {
  const value = pdu[key];
  if (value === undefined) throw missing(key);
  if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType(key, "an integer");
  return value;
}

function requireObject(pdu: JsonObject, key: string): JsonObject {
  const value = pdu[key];
  if (value === undefined) throw missing(key);
  if (!isJsonObject(value)) throw wrongType(key, "an object");
  return value;
}

function optionalType(pdu: JsonObject, key: string, check: (v: JsonValue) => boolean, expected: string): void {
  const value = pdu[key];
  if (value !== undefined && !check(value)) throw wrongType(key, expected);
}

/** Whether this PDU is a room version 12 create event, whose room ID is derived, not carried. */
export function isCreateEventOfHashRoom(pdu: JsonObject, version: RoomVersion): boolean {
  return version.roomIdFromCreateEvent && pdu["type"] === "m.room.create";
}

function checkRoomId(pdu: JsonObject, version: RoomVersion): void {
  if (isCreateEventOfHashRoom(pdu, version)) {
    // pdu_v12.yaml: room_id is "Omitted from m.room.create events". One that is present anyway is
    // left for the auth rules to reject (rooms/v12.md rule 1.2), provided it is at least a string.
    optionalType(pdu, "room_id", (v) => typeof v === "string", "a string");
    return;
  }
  const roomId = requireString(pdu, "room_id");
  // appendices "Room IDs": `!opaque_id:domain` while the room version requires a domain (v1-v11),
  // the create event's ID with sigil "!" (no domain) from v12.
  const valid = parseRoomId(roomId) !== undefined && roomId.includes(":") !== version.roomIdFromCreateEvent;
  if (!valid) {
    const form = version.roomIdFromCreateEvent ? "! and a URL-safe base64 hash" : "!opaque_id:domain";
    throw new EventFormatError("bad_identifier", `room_id must be ${form} in room version ${version.id}`, "room_id");
  }
}

function checkSignatures(pdu: JsonObject): void {
  // pdu_base.yaml: server name -> key ID -> signature string.
  const signatures = requireObject(pdu, "signatures");
  for (const [server, keys] of Object.entries(signatures)) {
    if (!isJsonObject(keys)) throw wrongType(`signatures.${server}`, "an object");
    for (const [keyId, signature] of Object.entries(keys)) {
      if (typeof signature !== "string") throw wrongType(`signatures.${server}.${keyId}`, "a string");
    }
  }
}

function checkHashes(pdu: JsonObject): void {
  // components/event_hash.yaml: sha256 is required.
  const hashes = requireObject(pdu, "hashes");
  if (hashes["sha256"] === undefined) throw missing("hashes.sha256");
  if (typeof hashes["sha256"] !== "string") throw wrongType("hashes.sha256", "a string");
}

function badReference(key: string, message: string): EventFormatError {
  return new EventFormatError("bad_reference", `${key} ${message}`, key);
}

/** An event ID as a reference: the "$" sigil, the 255-byte limit, and a domain in v1-v2. */
function checkReferencedEventId(id: JsonValue | undefined, key: string, version: RoomVersion): string {
  if (typeof id !== "string") throw badReference(key, "must hold an event ID string");
  if (!id.startsWith("$")) throw badReference(key, "must be an event ID starting with $");
  if (Buffer.byteLength(id, "utf8") > MAX_EVENT_ID_BYTES) throw badReference(key, `is over ${MAX_EVENT_ID_BYTES} bytes`);
  if (version.eventIdFormat === "v1" && parseEventId(id, "v1") === undefined) throw badReference(key, "must be $opaque_id:domain");
  return id;
}

/**
 * The event IDs of `prev_events` or `auth_events`: v1-v2 list [event ID, {sha256}] pairs
 * (pdu_v1.yaml), v3+ plain event IDs (pdu_v3.yaml, components/auth_events_prev_events_v4.yaml).
 */
export function referencedEventIds(pdu: JsonObject, key: "prev_events" | "auth_events", version: RoomVersion): string[] {
  const list = pdu[key];
  if (list === undefined) throw missing(key);
  if (!Array.isArray(list)) throw wrongType(key, "an array");
  const max = key === "prev_events" ? MAX_PREV_EVENTS : MAX_AUTH_EVENTS;
  if (list.length > max) {
    throw new EventFormatError("too_many_references", `${key} may hold at most ${max} events`, key);
  }
  return packedMap(list, (entry, i) => {
    const at = `${key}[${i}]`;
    if (version.eventIdFormat !== "v1") return checkReferencedEventId(entry, at, version);
    if (!Array.isArray(entry) || entry.length !== 2) throw badReference(at, "must be an [event ID, hashes] pair");
    const hashes = entry[1];
    if (!isJsonObject(hashes) || typeof hashes["sha256"] !== "string") {
      throw badReference(at, "must carry a {sha256} reference hash");
    }
    return checkReferencedEventId(entry[0], at, version);
  });
}

/** The keys of a PDU that passed checkPduFormat, typed. */
export interface PduFields {
  readonly sender: string;
  readonly originServerTs: number;
  readonly type: string;
  readonly stateKey: string | undefined;
  readonly content: JsonObject;
  readonly depth: number;
  /** Undefined only on a room version 12 create event. */
  readonly roomId: string | undefined;
  readonly prevEventIds: string[];
  readonly authEventIds: string[];
}

/**
 * Checks a PDU against the event format of its room version and throws EventFormatError on the
 * first fault (server-server-api "Checks performed on receipt of a PDU", step 1). Size limits and
 * strict canonical JSON are checked by checkEventSizeLimits (limits.ts).
 */
export function checkPduFormat(pdu: unknown, version: RoomVersion): PduFields {
  if (!isJsonObject(pdu)) throw new EventFormatError("wrong_type", "a PDU must be a JSON object");
  if (!isNestingWithin(pdu)) {
    throw new EventFormatError("too_deeply_nested", `event JSON nests deeper than ${MAX_EVENT_JSON_NESTING}`);
  }
  // components/pdu_base.yaml
  const sender = requireString(pdu, "sender");
  // appendices "Historical User IDs": events from users with historical localparts MUST be accepted.
  if (parseUserId(sender, { historical: true }) === undefined) {
    throw new EventFormatError("bad_identifier", "sender must be a user ID", "sender");
  }
  const originServerTs = requireInteger(pdu, "origin_server_ts");
  const type = requireString(pdu, "type");
  optionalType(pdu, "state_key", (v) => typeof v === "string", "a string");
  const content = requireObject(pdu, "content");
  checkHashes(pdu);
  checkSignatures(pdu);
  optionalType(pdu, "unsigned", isJsonObject, "an object");
  // pdu_v1.yaml: depth "Must be less than the maximum value for an integer"; components/depth_v6.yaml
  // bounds it at 2^53 - 1 from v6, which strict canonical JSON enforces. A depth is the maximum of
  // the prev_events' depths plus one, so it is never negative.
  const depth = requireInteger(pdu, "depth");
  if (depth < 0) throw wrongType("depth", "a non-negative integer");
  checkRoomId(pdu, version);
  const prevEventIds = referencedEventIds(pdu, "prev_events", version);
  const authEventIds = referencedEventIds(pdu, "auth_events", version);
  if (version.eventIdFormat === "v1") computeEventId(pdu, version); // validates event_id
  // pdu_v1..v6.yaml: a top-level `redacts` string. pdu_v11.yaml drops the property (rooms/v11.md
  // moves it into content), so from v11 a top-level `redacts` is an unknown key and is ignored.
  if (!version.redactsInContent) optionalType(pdu, "redacts", (v) => typeof v === "string", "a string");
  const stateKey = pdu["state_key"];
  const roomId = pdu["room_id"];
  return {
    sender,
    originServerTs,
    type,
    stateKey: typeof stateKey === "string" ? stateKey : undefined,
    content,
    depth,
    roomId: isCreateEventOfHashRoom(pdu, version) || typeof roomId !== "string" ? undefined : roomId,
    prevEventIds,
    authEventIds,
  };
}
