// Check 4 of server-server-api "Checks performed on receipt of a PDU": "Passes authorisation rules
// based on the event's auth events, otherwise it is rejected."
import { checkAuthEventsList, checkEventAuth } from "../../../core/auth/index.ts";
import type { AuthResult, AuthStateLookup } from "../../../core/auth/index.ts";
import type { RoomEvent } from "../../../core/events/room-event.ts";
import { createEventIdOfRoom } from "../../../core/events/room-id.ts";
import type { KnownEvent } from "../known-event.ts";

/**
 * The events an event's auth rests on: its auth_events, and from room version 12 the create event
 * its room ID names (rooms/v12.md: events no longer cite it, but the rules still consult it).
 */
export function authEventIdsOf(event: RoomEvent): string[] {
  const ids = [...event.authEventIds];
  if (event.roomVersion.roomIdFromCreateEvent && event.type !== "m.room.create") {
    const createId = createEventIdOfRoom(event.roomId);
    if (!ids.includes(createId)) ids.push(createId);
  }
  return ids;
}

/**
 * Checks the event against its auth events. `known` must hold every ID of authEventIdsOf(event)
 * that is stored; the caller drops the event when some are not (they must be fetched first).
 */
export function checkAgainstAuthEvents(event: RoomEvent, known: ReadonlyMap<string, KnownEvent>): AuthResult {
  const authEvents: RoomEvent[] = [];
  for (const id of authEventIdsOf(event)) {
    const auth = known.get(id);
    if (auth === undefined) return { allowed: false, reason: `auth event ${id} is missing` };
    // v1-auth-rules.md rule 2.3 / rooms/v12.md rule 3.3: reject if an auth event was itself rejected.
    // (v12 rule 2: the room ID must name an accepted, not rejected, m.room.create event.)
    if (auth.rejectedReason !== undefined) return { allowed: false, reason: `auth event ${id} was rejected` };
    if (event.authEventIds.includes(id)) authEvents.push(auth.event);
  }
  const listed = checkAuthEventsList(event, authEvents);
  if (!listed.allowed) return listed;
  return checkEventAuth(event, authEventsLookup(event, known));
}

/** The state an event's auth events make (with the v12 create event its room ID names). */
export function authEventsLookup(event: RoomEvent, known: ReadonlyMap<string, KnownEvent>): AuthStateLookup {
  const createId = event.roomVersion.roomIdFromCreateEvent && event.type !== "m.room.create" ? createEventIdOfRoom(event.roomId) : undefined;
  const authEvents = event.authEventIds.flatMap((id) => known.get(id)?.event ?? []);
  return (type, stateKey) => {
    if (type === "m.room.create" && stateKey === "" && createId !== undefined) return known.get(createId)?.event;
    return authEvents.find((e) => e.type === type && e.stateKey === stateKey);
  };
}
