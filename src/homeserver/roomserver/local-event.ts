// Building our own events (server-server-api#pdus): prev_events are the forward extremities
// ("all of the events in the room for which it has not yet seen a child", at most 20 by
// pdu_v*.yaml), auth_events follow "Auth events selection" over the current state, depth is one
// more than the deepest prev event (held at the limit), then the content hash and our signature
// ("Adding hashes and signatures to outgoing events").
import { randomBytes } from "node:crypto";
import { authEventsSelection } from "../../core/auth/index.ts";
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../../core/crypto/base64.ts";
import { signBytes, type SigningKey } from "../../core/crypto/ed25519.ts";
import { sha256 } from "../../core/crypto/hashes.ts";
import { EventFormatError } from "../../core/events/event-format-error.ts";
import { MAX_EVENT_JSON_NESTING, isNestingWithin } from "../../core/events/event-json.ts";
import { MAX_PREV_EVENTS } from "../../core/events/format.ts";
import { computeReferenceHash } from "../../core/events/hashes.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { Pdu, RoomEvent } from "../../core/events/room-event.ts";
import { hashAndSignEvent } from "../../core/events/sign.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import { packedMap } from "../../core/packed-map.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { StateSnapshot } from "../../storage/stores/state-snapshot.ts";
import { PduBytes } from "./checks/pdu-bytes.ts";
import { nextDepth } from "./checks/valid-event.ts";
import type { CreateRoomRequest, LocalEventRequest } from "./types.ts";

export interface Signer {
  readonly serverName: string;
  readonly key: SigningKey;
}

/** An opaque ID part: 18 random bytes, URL-safe base64. */
export function randomOpaqueId(): string {
  return encodeUnpaddedBase64Url(randomBytes(18));
}

/** The prev_events of a new event: the deepest forward extremities, at most 20. */
export function choosePrevEvents(extremities: ReadonlyMap<string, number>): string[] {
  const deepest = [...extremities].sort(([a, da], [b, db]) => db - da || (a < b ? -1 : a > b ? 1 : 0)).slice(0, MAX_PREV_EVENTS);
  return packedMap(deepest, ([id]) => id);
}

/** v1-v2 cite events as [event ID, {sha256: reference hash}] (pdu_v1.yaml); later versions by ID. */
function reference(event: RoomEvent): JsonValue {
  if (event.roomVersion.eventIdFormat !== "v1") return event.eventId;
  return [event.eventId, { sha256: encodeUnpaddedBase64(computeReferenceHash(event.pdu, event.roomVersion)) }];
}

export interface LocalEventParts {
  readonly request: LocalEventRequest;
  readonly version: RoomVersion;
  readonly prevEvents: readonly RoomEvent[];
  /** The state the auth events are selected from: the room's current state. */
  readonly state: StateSnapshot;
  /** The events of that state the selection may pick, by ID. */
  readonly stateEvents: ReadonlyMap<string, RoomEvent>;
  readonly now: number;
}

/** The auth_events of a new event: "Auth events selection" over `state`. */
export function selectAuthEvents(
  request: { type: string; stateKey?: string | undefined; sender: string; content: JsonObject },
  version: RoomVersion,
  state: StateSnapshot,
): string[] {
  const ids: string[] = [];
  for (const [type, stateKey] of authEventsSelection({ ...request, stateKey: request.stateKey }, version)) {
    const id = state.get(stateMapKey(type, stateKey));
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

/** A new event of an existing room, hashed and signed, with its encodings. */
export function buildLocalEvent(parts: LocalEventParts, signer: Signer): { pdu: Pdu; bytes: PduBytes } {
  const { request, version } = parts;
  const authIds = selectAuthEvents(request, version, parts.state);
  const pdu: Pdu = {
    room_id: request.roomId,
    type: request.type,
    sender: request.sender,
    content: request.content,
    origin_server_ts: request.originServerTs ?? parts.now,
    depth: nextDepth(packedMap(parts.prevEvents, (e) => e.depth)),
    prev_events: packedMap(parts.prevEvents, reference),
    auth_events: packedMap(authIds, (id) => {
      const event = parts.stateEvents.get(id);
      if (event === undefined) throw new Error(`auth event ${id} was not loaded`);
      return reference(event);
    }),
  };
  if (request.stateKey !== undefined) pdu["state_key"] = request.stateKey;
  if (request.redacts !== undefined && !version.redactsInContent) pdu["redacts"] = request.redacts;
  if (version.eventIdFormat === "v1") pdu["event_id"] = `$${randomOpaqueId()}:${signer.serverName}`;
  return hashAndSign(pdu, version, signer);
}

/**
 * hashAndSignEvent (core/events/sign.ts) for an event that has no hashes or signatures yet, over
 * one encoding of its members (pdu-bytes.ts): the content hash, the signed bytes and then the event
 * ID, size check and stored JSON (checkValidEvent, given these bytes) all join the same encodings.
 */
export function hashAndSign(pdu: Pdu, version: RoomVersion, signer: Signer): { pdu: Pdu; bytes: PduBytes } {
  // As encodeEventJson: the member encoder is recursive.
  if (!isNestingWithin(pdu)) throw new EventFormatError("too_deeply_nested", `event JSON nests deeper than ${MAX_EVENT_JSON_NESTING}`);
  const unhashed = new PduBytes(pdu, version);
  // server-server-api "Adding hashes and signatures to outgoing events".
  const hashed = unhashed.withMember("hashes", { sha256: encodeUnpaddedBase64(sha256(unhashed.contentHashed())) });
  const signature = encodeUnpaddedBase64(signBytes(signer.key, hashed.essential()));
  const bytes = hashed.withMember("signatures", { [signer.serverName]: { [signer.key.keyId]: signature } });
  return { pdu: bytes.pdu, bytes };
}

/**
 * A room's m.room.create event (client-server-api#mroomcreate): room_version, and before v11 the
 * creator in content; before v12 it carries the room ID (made up here unless given), from v12
 * the room ID is derived from it (rooms/v12.md).
 */
export function buildCreateEvent(request: CreateRoomRequest, version: RoomVersion, signer: Signer, now: number): Pdu {
  const content: JsonObject = { ...(request.content ?? {}), room_version: version.id };
  if (version.creatorInContent) content["creator"] = request.creator;
  const pdu: Pdu = {
    type: "m.room.create",
    state_key: "",
    sender: request.creator,
    content,
    origin_server_ts: request.originServerTs ?? now,
    depth: 1,
    prev_events: [],
    auth_events: [],
  };
  if (!version.roomIdFromCreateEvent) pdu["room_id"] = request.roomId ?? `!${randomOpaqueId()}:${signer.serverName}`;
  if (version.eventIdFormat === "v1") pdu["event_id"] = `$${randomOpaqueId()}:${signer.serverName}`;
  return hashAndSignEvent(pdu, version, signer.serverName, signer.key);
}
