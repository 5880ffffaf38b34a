import { isJsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { EventFormatError } from "./event-format-error.ts";
import { encodeEventJson } from "./event-json.ts";
import type { Pdu } from "./room-event.ts";

// client-server-api "Size limits": the whole event in the federation format, signatures included,
// as canonical JSON, is at most 65536 bytes.
export const MAX_PDU_BYTES = 65536;

// client-server-api "Size limits" per key: sender, room_id and event_id are bounded by the
// identifier limits of the appendices (user IDs, room IDs and event IDs: 255 bytes each);
// state_key and type by 255 bytes.
export const MAX_KEY_BYTES: Readonly<Record<"sender" | "room_id" | "state_key" | "type" | "event_id", number>> = {
  sender: 255,
  room_id: 255,
  state_key: 255,
  type: 255,
  event_id: 255,
};

/**
 * Throws EventFormatError (reason "too_large") if a key of the PDU is over its byte limit. Keys
 * that are not strings, and PDUs that are not objects, are left to the format checks.
 */
export function checkKeySizeLimits(pdu: unknown): void {
  if (!isJsonObject(pdu)) return;
  for (const [key, limit] of Object.entries(MAX_KEY_BYTES)) {
    const value = pdu[key];
    if (typeof value === "string" && Buffer.byteLength(value, "utf8") > limit) {
      throw new EventFormatError("too_large", `${key} is over ${limit} bytes`, key);
    }
  }
}

/**
 * Throws EventFormatError (reason "too_large") if the PDU breaks a size limit: a key over its
 * byte limit, or the whole event over 65536 bytes of canonical JSON (which also fails, with
 * "not_canonical_json", on numbers the room version's canonical JSON forbids).
 */
export function checkEventSizeLimits(pdu: Pdu, version: RoomVersion): void {
  checkKeySizeLimits(pdu);
  const size = encodeEventJson(pdu, version).length;
  if (size > MAX_PDU_BYTES) {
    throw new EventFormatError("too_large", `the event is ${size} bytes of canonical JSON, over ${MAX_PDU_BYTES}`);
  }
}
