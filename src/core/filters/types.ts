// The typed, normalised form of a filter (client-server-api#filtering, data/api/client-server/
// definitions/{sync_filter,event_filter,room_event_filter}.yaml): what the server reads when it
// applies a filter. Absent lists stay `undefined` ("no constraint"); the `not_` lists, booleans and
// the limit get their defaults, so readers never handle a missing key.

/** event_filter.yaml: `limit`, `types`/`not_types`, `senders`/`not_senders`. */
export interface EventFilter {
  /** The maximum number of events to return, defaulted and capped by the server. */
  readonly limit: number;
  /** Event types to include (`*` matches any sequence); undefined: every type. */
  readonly types: readonly string[] | undefined;
  /** Event types to exclude; wins over `types`. */
  readonly notTypes: readonly string[];
  /** Senders to include; undefined: every sender. */
  readonly senders: readonly string[] | undefined;
  /** Senders to exclude; wins over `senders`. */
  readonly notSenders: readonly string[];
}

/** room_event_filter.yaml: an EventFilter with rooms, `contains_url` and the lazy-loading flags. */
export interface RoomEventFilter extends EventFilter {
  /** Rooms to include; undefined: every room. */
  readonly rooms: readonly string[] | undefined;
  /** Rooms to exclude; wins over `rooms`. */
  readonly notRooms: readonly string[];
  /** true: only events whose content has `url`; false: only those without; undefined: either. */
  readonly containsUrl: boolean | undefined;
  readonly lazyLoadMembers: boolean;
  readonly includeRedundantMembers: boolean;
  readonly unreadThreadNotifications: boolean;
}

/** sync_filter.yaml `room` (RoomFilter): applied before the per-section filters. */
export interface RoomFilter {
  readonly rooms: readonly string[] | undefined;
  readonly notRooms: readonly string[];
  readonly includeLeave: boolean;
  readonly timeline: RoomEventFilter;
  readonly state: RoomEventFilter;
  readonly ephemeral: RoomEventFilter;
  readonly accountData: RoomEventFilter;
}

/** sync_filter.yaml `event_format`. */
export type EventFormat = "client" | "federation";

/** sync_filter.yaml (Filter). */
export interface Filter {
  /** Dot-separated paths of the fields to keep (appendices#dot-separated-property-paths); undefined: all. */
  readonly eventFields: readonly string[] | undefined;
  readonly eventFormat: EventFormat;
  readonly presence: EventFilter;
  readonly accountData: EventFilter;
  readonly room: RoomFilter;
}

/** What a filter looks at in an event, account data item or presence update. */
export interface FilterableEvent {
  readonly type: string;
  /** Absent for data that has no sender (account data, typing, receipts): sender lists are skipped. */
  readonly sender?: string;
  /** Absent outside rooms (presence, global account data): room lists are skipped. */
  readonly roomId?: string;
  readonly content?: unknown;
}

/** event_filter.yaml `limit`: "Servers should apply a default value" (Synapse's is 10). */
export const DEFAULT_EVENT_LIMIT = 10;
/** event_filter.yaml `limit`: "and impose a maximum value to avoid resource exhaustion". */
export const MAX_EVENT_LIMIT = 1000;

/** How the limit is defaulted and capped. */
export interface LimitPolicy {
  readonly defaultLimit: number;
  readonly maxLimit: number;
}

export const DEFAULT_LIMIT_POLICY: LimitPolicy = { defaultLimit: DEFAULT_EVENT_LIMIT, maxLimit: MAX_EVENT_LIMIT };
