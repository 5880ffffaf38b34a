// The rules for m.room.create events: v1-auth-rules.md rule 1, rooms/v11.md rule 1 (no `creator`)
// and rooms/v12.md rule 1 (no `room_id`, `additional_creators`).

import type { RoomEvent } from "../events/room-event.ts";
import { getRoomVersion } from "../room-versions/room-versions.ts";
import { parseUserId, serverNameOf } from "../identifiers/index.ts";
import { ALLOWED, ownValue, reject } from "./types.ts";
import type { AuthResult } from "./types.ts";

/** The m.room.create rules; an m.room.create event is decided by these alone. */
export function checkCreateEvent(event: RoomEvent): AuthResult {
  const version = event.roomVersion;
  // rule 1.1: "If it has any prev_events, reject."
  if (event.prevEventIds.length > 0) return reject("m.room.create event has prev_events");
  if (version.roomIdFromCreateEvent) {
    // rooms/v12.md rule 1.2: "If the event has a room_id, reject."
    if (Object.hasOwn(event.pdu, "room_id")) return reject("m.room.create event has a room_id");
  } else {
    // v1-auth-rules.md rule 1.2: "If the domain of the room_id does not match the domain of the sender, reject."
    const roomDomain = serverNameOf(event.roomId);
    if (roomDomain === undefined || roomDomain !== serverNameOf(event.sender)) {
      return reject("the domain of the room_id does not match the domain of the sender");
    }
  }
  // rule 1.3: "If content.room_version is present and is not a recognised version, reject."
  if (Object.hasOwn(event.content, "room_version")) {
    const roomVersion = event.content["room_version"];
    if (typeof roomVersion !== "string" || getRoomVersion(roomVersion) === undefined) {
      return reject("content.room_version is not a recognised room version");
    }
  }
  // v1-auth-rules.md rule 1.4 (until v10): "If content has no creator property, reject."
  if (version.creatorInContent && !Object.hasOwn(event.content, "creator")) {
    return reject("m.room.create event has no creator");
  }
  // rooms/v12.md rule 1.4: additional_creators must be an array of valid user IDs.
  if (version.privilegedCreators && Object.hasOwn(event.content, "additional_creators")) {
    const additional = ownValue(event.content, "additional_creators");
    const valid = Array.isArray(additional) && additional.every((id) => typeof id === "string" && parseUserId(id) !== undefined);
    if (!valid) return reject("additional_creators is not an array of user IDs");
  }
  // rule 1.5: "Otherwise, allow."
  return ALLOWED;
}
