// Applying a filter (client-server-api#filtering): each `not_` list wins over its inclusive list
// ("A matching ... will be excluded even if it is listed in the ... filter"), an absent inclusive
// list includes everything, and only event types take `*` wildcards; senders and rooms are IDs,
// compared exactly.
import { isJsonObject } from "../json.ts";
import type { EventFilter, FilterableEvent, RoomEventFilter, RoomFilter } from "./types.ts";
import { matchesAnyWildcard } from "./wildcard.ts";

function isRoomEventFilter(filter: EventFilter): filter is RoomEventFilter {
  return "notRooms" in filter;
}

function allowedRoom(rooms: readonly string[] | undefined, notRooms: readonly string[], roomId: string): boolean {
  if (notRooms.includes(roomId)) return false;
  return rooms === undefined || rooms.includes(roomId);
}

/**
 * Whether an event passes an EventFilter or RoomEventFilter. The limit is not looked at: it bounds
 * how many matching events a response carries, which is the reader's business.
 */
export function matchesEventFilter(filter: EventFilter | RoomEventFilter, event: FilterableEvent): boolean {
  if (matchesAnyWildcard(filter.notTypes, event.type)) return false;
  if (filter.types !== undefined && !matchesAnyWildcard(filter.types, event.type)) return false;
  if (event.sender !== undefined) {
    if (filter.notSenders.includes(event.sender)) return false;
    if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  }
  if (!isRoomEventFilter(filter)) return true;
  if (event.roomId !== undefined && !allowedRoom(filter.rooms, filter.notRooms, event.roomId)) return false;
  // room_event_filter.yaml `contains_url`: "includes only events with a `url` key in their content".
  if (filter.containsUrl !== undefined) {
    const hasUrl = isJsonObject(event.content) && Object.hasOwn(event.content, "url");
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
}

/** The events of `events` that pass the filter, in order (the limit is not applied). */
export function filterEvents<E extends FilterableEvent>(filter: EventFilter | RoomEventFilter, events: Iterable<E>): E[] {
  const kept: E[] = [];
  for (const event of events) if (matchesEventFilter(filter, event)) kept.push(event);
  return kept;
}

/**
 * Whether a room passes the RoomFilter's own `rooms`/`not_rooms`, which sync_filter.yaml applies
 * "before the filters in `ephemeral`, `state`, `timeline` or `account_data`".
 */
export function matchesRoomFilter(filter: RoomFilter, roomId: string): boolean {
  return allowedRoom(filter.rooms, filter.notRooms, roomId);
}

/**
 * Whether the filter matches no event whatever, so a reader can skip the work: an empty `types`, or
 * a `*` in `not_types`. (Empty `senders` or `rooms` lists still let through data that has no sender
 * or no room, so they do not count here.)
 */
export function excludesEverything(filter: EventFilter | RoomEventFilter): boolean {
  return filter.types?.length === 0 || filter.notTypes.some((pattern) => /^\*+$/.test(pattern));
}
