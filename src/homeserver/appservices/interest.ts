// Which application services an event is for (application-service-api#registration): a service is
// "interested" in an event whose room ID its room namespaces match, whose sender or member-event
// target is one of its users, in a room with an alias of its alias namespaces, or in a room where
// one of its users (its sender included) is a joined member. The room part alone is what decides
// for the ephemeral data pushed to services (ephemeral-forwarder.ts).
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { Appservice } from "./appservice.ts";

export interface InterestLookups {
  /** The room's joined members, once the membership index has applied the event at `streamOrdering`. */
  joinedMembers(roomId: string, streamOrdering: number): Promise<readonly string[]>;
  /** The room's local aliases (the alias directory). */
  aliasesOf(roomId: string): Promise<readonly string[]>;
}

/** The interest an event's own fields show, without a lookup. */
export function isInterestedInEventFields(appservice: Appservice, event: RoomEvent): boolean {
  if (appservice.isInterestedInRoomId(event.roomId)) return true;
  if (appservice.isInterestedInUser(event.sender)) return true;
  return event.type === "m.room.member" && event.stateKey !== undefined && appservice.isInterestedInUser(event.stateKey);
}

/**
 * The services interested in the event, in registration order. The room lookups are made at most
 * once per event, and only for the services the event's fields did not settle.
 */
export async function interestedServices(
  services: readonly Appservice[],
  event: RoomEvent,
  streamOrdering: number,
  lookups: InterestLookups,
): Promise<Appservice[]> {
  const inRoom = roomInterest(event.roomId, streamOrdering, lookups);
  const interested: Appservice[] = [];
  for (const appservice of services) {
    if (isInterestedInEventFields(appservice, event) || (await inRoom(appservice))) interested.push(appservice);
  }
  return interested;
}

/**
 * The services interested in the room itself (its ID, one of its aliases, or one of its joined
 * members), in registration order; the lookups are made at most once.
 */
export async function servicesInterestedInRoom(
  services: readonly Appservice[],
  roomId: string,
  streamOrdering: number,
  lookups: InterestLookups,
): Promise<Appservice[]> {
  const inRoom = roomInterest(roomId, streamOrdering, lookups);
  const interested: Appservice[] = [];
  for (const appservice of services) if (await inRoom(appservice)) interested.push(appservice);
  return interested;
}

/** Whether a service is interested in the room, the room's lookups made once, when first needed. */
function roomInterest(roomId: string, streamOrdering: number, lookups: InterestLookups): (appservice: Appservice) => Promise<boolean> {
  let members: readonly string[] | undefined;
  let aliases: readonly string[] | undefined;
  return async (appservice) => {
    if (appservice.isInterestedInRoomId(roomId)) return true;
    if (appservice.registration.namespaces.aliases.length > 0) {
      aliases ??= await lookups.aliasesOf(roomId);
      if (aliases.some((a) => appservice.isInterestedInAlias(a))) return true;
    }
    members ??= await lookups.joinedMembers(roomId, streamOrdering);
    return members.some((m) => appservice.isInterestedInUser(m));
  };
}
