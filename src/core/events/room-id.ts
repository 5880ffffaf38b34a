import { encodeUnpaddedBase64Url } from "../crypto/base64.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { EventFormatError } from "./event-format-error.ts";
import { computeReferenceHash } from "./hashes.ts";
import type { Pdu } from "./room-event.ts";

/**
 * The room ID a create event makes. From room version 12 it is the create event's ID with sigil
 * "!" instead of "$": "!" + URL-safe unpadded base64 of its reference hash (rooms/v12.md,
 * appendices "Room IDs"). Before v12 the create event names it in its `room_id`.
 * Throws EventFormatError if the event is not an m.room.create, or (before v12) has no room_id.
 */
export function roomIdFromCreateEvent(createPdu: Pdu, version: RoomVersion): string {
  if (createPdu["type"] !== "m.room.create") {
    throw new EventFormatError("wrong_type", "not an m.room.create event", "type");
  }
  if (version.roomIdFromCreateEvent) {
    return "!" + encodeUnpaddedBase64Url(computeReferenceHash(createPdu, version));
  }
  const roomId = createPdu["room_id"];
  if (roomId === undefined) throw new EventFormatError("missing_key", "room_id is required in this room version", "room_id");
  if (typeof roomId !== "string") throw new EventFormatError("wrong_type", "room_id must be a string", "room_id");
  return roomId;
}

/**
 * The ID of the create event of a room whose ID is derived from it (v12, `roomIdFromCreateEvent`),
 * which its room ID encodes (rooms/v12.md auth rule 2: the
 * room ID is "an event ID for an m.room.create event, with the sigil ! instead of $").
 */
export function createEventIdOfRoom(roomId: string): string {
  return "$" + roomId.slice(1);
}
