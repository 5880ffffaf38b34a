import { isJsonObject } from "../json.ts";
import type { JsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { computeEventId } from "./event-id.ts";
import { checkPduFormat, type PduFields } from "./format.ts";
import { checkEventSizeLimits, checkKeySizeLimits } from "./limits.ts";
import type { Pdu, RoomEvent } from "./room-event.ts";
import { roomIdFromCreateEvent } from "./room-id.ts";

/**
 * The event an m.room.redaction redacts: its top-level `redacts` before room version 11, its
 * `content.redacts` from v11 (rooms/v11.md "Moving the redacts property ... to a content
 * property"; a top-level `redacts` there is only added when serving clients, never read).
 * Undefined for other event types and for redactions whose `redacts` is absent (as after a
 * redaction before v11, which does not protect it) or not a string.
 */
export function redactsOf(pdu: JsonObject, version: RoomVersion): string | undefined {
  if (pdu["type"] !== "m.room.redaction") return undefined;
  const content = pdu["content"];
  const redacts = version.redactsInContent ? (isJsonObject(content) ? content["redacts"] : undefined) : pdu["redacts"];
  return typeof redacts === "string" ? redacts : undefined;
}

/**
 * Checks a PDU's format and size limits for its room version and builds the version-independent
 * view of it: the event ID computed (v3+) or read (v1-v2), references flattened to event IDs, and
 * for a v12 create event the room ID derived from its reference hash (rooms/v12.md).
 * Throws EventFormatError, and nothing else, on any malformed input.
 */
export function toRoomEvent(pdu: Pdu, version: RoomVersion): RoomEvent {
  // Key limits first, so that an over-long sender or room_id reads as too large, not malformed.
  checkKeySizeLimits(pdu);
  const fields = checkPduFormat(pdu, version);
  checkEventSizeLimits(pdu, version);
  const eventId = computeEventId(pdu, version);
  return roomEventOf(pdu, version, fields, eventId, fields.roomId ?? roomIdFromCreateEvent(pdu, version));
}

/**
 * The version-independent view of a PDU whose format checked as `fields`, given its event ID and
 * room ID (computed, or known from storage).
 */
export function roomEventOf(pdu: Pdu, version: RoomVersion, fields: PduFields, eventId: string, roomId: string): RoomEvent {
  return {
    eventId,
    roomId,
    type: fields.type,
    stateKey: fields.stateKey,
    sender: fields.sender,
    content: fields.content,
    originServerTs: fields.originServerTs,
    depth: fields.depth,
    prevEventIds: fields.prevEventIds,
    authEventIds: fields.authEventIds,
    redacts: redactsOf(pdu, version),
    roomVersion: version,
    pdu,
  };
}
