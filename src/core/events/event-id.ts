import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../crypto/base64.ts";
import { parseEventId } from "../identifiers/event-id.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { EventFormatError } from "./event-format-error.ts";
import { computeReferenceHash } from "./hashes.ts";
import type { Pdu } from "./room-event.ts";

/** appendices "Event IDs": with the sigil and any domain, at most 255 bytes. */
export const MAX_EVENT_ID_BYTES = 255;

/**
 * The event ID of a PDU in its room version:
 * - v1-v2 carry it in `event_id`, `$opaque_id:domain` (rooms/fragments/v1-event-ids.md);
 * - v3: "$" + the reference hash in unpadded standard base64 (rooms/v3.md "Event IDs");
 * - v4+: "$" + the reference hash in URL-safe unpadded base64 (rooms/fragments/v4-event-ids.md).
 * Throws EventFormatError when a v1-v2 `event_id` is missing or malformed.
 */
export function computeEventId(pdu: Pdu, version: RoomVersion): string {
  switch (version.eventIdFormat) {
    case "v1": {
      const eventId = pdu["event_id"];
      if (eventId === undefined) throw new EventFormatError("missing_key", "event_id is required in this room version", "event_id");
      if (typeof eventId !== "string") throw new EventFormatError("wrong_type", "event_id must be a string", "event_id");
      if (Buffer.byteLength(eventId, "utf8") > MAX_EVENT_ID_BYTES) {
        throw new EventFormatError("too_large", `event_id is over ${MAX_EVENT_ID_BYTES} bytes`, "event_id");
      }
      if (parseEventId(eventId, "v1") === undefined) {
        throw new EventFormatError("bad_identifier", "event_id must be $opaque_id:domain", "event_id");
      }
      return eventId;
    }
    case "v3":
      return "$" + encodeUnpaddedBase64(computeReferenceHash(pdu, version));
    case "v4":
      return "$" + encodeUnpaddedBase64Url(computeReferenceHash(pdu, version));
  }
}
