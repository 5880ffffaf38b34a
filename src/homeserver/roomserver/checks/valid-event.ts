// Check 1 of server-server-api "Checks performed on receipt of a PDU": "Is a valid event,
// otherwise it is dropped": the event format of its room version (rooms/*.md, pdu_v*.yaml), the
// size limits (client-server-api "Size limits"), and the depth limit.
import { hash } from "node:crypto";
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../../../core/crypto/base64.ts";
import { computeEventId } from "../../../core/events/event-id.ts";
import { EventFormatError } from "../../../core/events/event-format-error.ts";
import { checkPduFormat } from "../../../core/events/format.ts";
import { MAX_PDU_BYTES, checkKeySizeLimits } from "../../../core/events/limits.ts";
import { roomEventOf } from "../../../core/events/pdu.ts";
import type { Pdu, RoomEvent } from "../../../core/events/room-event.ts";
import { roomIdFromCreateEvent } from "../../../core/events/room-id.ts";
import type { RoomVersion } from "../../../core/room-versions/room-versions.ts";
import { PduBytes } from "./pdu-bytes.ts";

/**
 * The depth limit: pdu_v1.yaml..pdu_v4.yaml "Must be less than the maximum value for an integer
 * (2^63 - 1)"; components/depth_v6.yaml lowers it to 2^53 - 1 from v6, which v6's canonical JSON
 * already enforces. "If the room's depth is already at the limit, the depth must be set to the
 * limit": a depth equal to it is allowed. 2^63 - 1 is not a JS number; the nearest one, 2^63, is
 * over the limit, so anything from 2^63 up is refused.
 */
export function depthLimit(version: RoomVersion): number {
  return version.strictCanonicalJson ? Number.MAX_SAFE_INTEGER : 2 ** 63;
}

/**
 * The depth our own events get: one more than their deepest prev event, held at the limit.
 * Before v6 we also hold it at 2^53 - 1, below the spec's limit, so that it stays exact in JSON.
 */
export function nextDepth(prevDepths: readonly number[]): number {
  const deepest = prevDepths.reduce((max, d) => Math.max(max, d), 0);
  return Math.min(deepest + 1, Number.MAX_SAFE_INTEGER);
}

export type ValidEventResult =
  | { readonly event: RoomEvent; readonly bytes: PduBytes }
  | { readonly reason: string; readonly eventId?: string; readonly formatError?: EventFormatError };

/**
 * toRoomEvent (core/events/pdu.ts), the same checks in the same order with the same errors, but
 * encoding the PDU once (pdu-bytes.ts): its member encodings then serve the event ID, the
 * signature and hash checks and the stored JSON. Throws EventFormatError on a malformed PDU.
 */
export function parsePdu(pdu: Pdu, version: RoomVersion, encoded?: PduBytes): { event: RoomEvent; bytes: PduBytes } {
  checkKeySizeLimits(pdu);
  const fields = checkPduFormat(pdu, version);
  // An event we built was encoded as it was hashed and signed (local-event.ts hashAndSign).
  const bytes = encoded?.pdu === pdu ? encoded : new PduBytes(pdu, version);
  if (bytes.tooLarge) {
    throw new EventFormatError("too_large", `the event is ${bytes.size} bytes of canonical JSON, over ${MAX_PDU_BYTES}`);
  }
  let eventId: string;
  switch (version.eventIdFormat) {
    case "v1":
      eventId = computeEventId(pdu, version);
      break;
    case "v3":
      eventId = "$" + encodeUnpaddedBase64(hash("sha256", bytes.essential(), "buffer"));
      break;
    case "v4":
      eventId = "$" + encodeUnpaddedBase64Url(hash("sha256", bytes.essential(), "buffer"));
      break;
  }
  const event = roomEventOf(pdu, version, fields, eventId, fields.roomId ?? roomIdFromCreateEvent(pdu, version));
  return { event, bytes };
}

/** Why an event that failed the format checks is dropped, and that failure for the client API. */
export function invalidEvent(err: EventFormatError): { readonly reason: string; readonly formatError: EventFormatError } {
  return { reason: `invalid event (${err.reason}): ${err.message}`, formatError: err };
}

/**
 * Parses and validates a PDU for its room version; the reason says why it is dropped. `encoded`:
 * the PDU's encodings when they were made already.
 */
export function checkValidEvent(pdu: Pdu, version: RoomVersion, roomId: string, encoded?: PduBytes): ValidEventResult {
  let event: RoomEvent;
  let bytes: PduBytes;
  try {
    ({ event, bytes } = parsePdu(pdu, version, encoded));
  } catch (err) {
    if (err instanceof EventFormatError) return invalidEvent(err);
    throw err;
  }
  const eventId = event.eventId;
  if (event.roomId !== roomId) return { reason: `the event is for room ${event.roomId}, not ${roomId}`, eventId };
  const limit = depthLimit(version);
  if (version.strictCanonicalJson ? event.depth > limit : event.depth >= limit) {
    return { reason: `depth ${event.depth} is over the limit of room version ${version.id}`, eventId };
  }
  // Room versions 1-2 let an event name its own ID: citing it would make a one-event cycle.
  if (event.prevEventIds.includes(eventId)) return { reason: "the event cites itself in prev_events", eventId };
  if (event.authEventIds.includes(eventId)) return { reason: "the event cites itself in auth_events", eventId };
  return { event, bytes };
}
