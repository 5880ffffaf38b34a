// Filters (client-server-api#filtering): the normalised model, parsing, matching and projection.

export type { EventFilter, EventFormat, Filter, FilterableEvent, LimitPolicy, RoomEventFilter, RoomFilter } from "./types.ts";
export { DEFAULT_EVENT_LIMIT, DEFAULT_LIMIT_POLICY, MAX_EVENT_LIMIT } from "./types.ts";
export { DEFAULT_FILTER, parseEventFilter, parseFilter, parseRoomEventFilter } from "./parse.ts";
export { excludesEverything, filterEvents, matchesEventFilter, matchesRoomFilter } from "./match.ts";
export { matchesAnyWildcard, matchesWildcard } from "./wildcard.ts";
export { applyEventFields, parseDotPath } from "./event-fields.ts";
