// Reads a filter's JSON into the typed, normalised Filter (client-server-api#filtering and
// data/api/client-server/definitions/{sync_filter,event_filter,room_event_filter}.yaml). Unknown
// keys are ignored so filters written for later spec versions still apply; a known key of the wrong
// shape is M_BAD_JSON, naming the key.
import { MatrixError } from "../errors.ts";
import { isJsonObject, type JsonObject } from "../json.ts";
import {
  DEFAULT_LIMIT_POLICY,
  type EventFilter,
  type EventFormat,
  type Filter,
  type LimitPolicy,
  type RoomEventFilter,
  type RoomFilter,
} from "./types.ts";

function bad(path: string, expected: string): MatrixError {
  return new MatrixError("M_BAD_JSON", `Filter: ${path} must be ${expected}`, 400);
}

function objectAt(json: JsonObject, key: string, path: string): JsonObject {
  const value = json[key];
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw bad(path, "an object");
  return value;
}

// `pattern` is the schema's: "^@" for user IDs, "^!" for room IDs.
function stringsAt(json: JsonObject, key: string, path: string, prefix = ""): readonly string[] | undefined {
  const value = json[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad(path, "an array");
  for (const item of value) {
    if (typeof item !== "string" || !item.startsWith(prefix)) {
      throw bad(path, prefix === "" ? "an array of strings" : `an array of strings starting with '${prefix}'`);
    }
  }
  return value as string[];
}

function booleanAt(json: JsonObject, key: string, path: string): boolean | undefined {
  const value = json[key];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw bad(path, "a boolean");
  return value;
}

// event_filter.yaml `limit`: "must be an integer greater than 0"; the server defaults and caps it.
// A stored value the schema let through but below 1 is raised to 1 rather than failing every sync.
function limitAt(json: JsonObject, path: string, policy: LimitPolicy): number {
  const value = json.limit;
  if (value === undefined) return policy.defaultLimit;
  if (typeof value !== "number" || !Number.isInteger(value)) throw bad(path, "an integer");
  return Math.min(Math.max(value, 1), policy.maxLimit);
}

/** Reads an EventFilter (event_filter.yaml), as used for `presence` and `account_data`. */
export function parseEventFilter(json: unknown, path = "filter", policy: LimitPolicy = DEFAULT_LIMIT_POLICY): EventFilter {
  if (!isJsonObject(json)) throw bad(path, "an object");
  return {
    limit: limitAt(json, `${path}.limit`, policy),
    types: stringsAt(json, "types", `${path}.types`),
    notTypes: stringsAt(json, "not_types", `${path}.not_types`) ?? [],
    senders: stringsAt(json, "senders", `${path}.senders`, "@"),
    notSenders: stringsAt(json, "not_senders", `${path}.not_senders`, "@") ?? [],
  };
}

/** Reads a RoomEventFilter (room_event_filter.yaml): the sections of `room`, and /messages' `filter`. */
export function parseRoomEventFilter(json: unknown, path = "filter", policy: LimitPolicy = DEFAULT_LIMIT_POLICY): RoomEventFilter {
  const base = parseEventFilter(json, path, policy);
  const obj = json as JsonObject;
  return {
    ...base,
    rooms: stringsAt(obj, "rooms", `${path}.rooms`, "!"),
    notRooms: stringsAt(obj, "not_rooms", `${path}.not_rooms`, "!") ?? [],
    containsUrl: booleanAt(obj, "contains_url", `${path}.contains_url`),
    lazyLoadMembers: booleanAt(obj, "lazy_load_members", `${path}.lazy_load_members`) ?? false,
    includeRedundantMembers: booleanAt(obj, "include_redundant_members", `${path}.include_redundant_members`) ?? false,
    unreadThreadNotifications: booleanAt(obj, "unread_thread_notifications", `${path}.unread_thread_notifications`) ?? false,
  };
}

function parseRoomFilter(json: JsonObject, path: string, policy: LimitPolicy): RoomFilter {
  const section = (key: string): RoomEventFilter => parseRoomEventFilter(objectAt(json, key, `${path}.${key}`), `${path}.${key}`, policy);
  return {
    rooms: stringsAt(json, "rooms", `${path}.rooms`, "!"),
    notRooms: stringsAt(json, "not_rooms", `${path}.not_rooms`, "!") ?? [],
    includeLeave: booleanAt(json, "include_leave", `${path}.include_leave`) ?? false,
    timeline: section("timeline"),
    state: section("state"),
    ephemeral: section("ephemeral"),
    accountData: section("account_data"),
  };
}

function eventFormatAt(json: JsonObject): EventFormat {
  const value = json.event_format;
  if (value === undefined) return "client"; // sync_filter.yaml: "The default is `client`."
  if (value !== "client" && value !== "federation") throw bad("event_format", "'client' or 'federation'");
  return value;
}

/**
 * Reads a filter (sync_filter.yaml) into its normalised form, every default filled in.
 * Throws MatrixError M_BAD_JSON (400) when a known key has the wrong shape.
 */
export function parseFilter(json: unknown, policy: LimitPolicy = DEFAULT_LIMIT_POLICY): Filter {
  if (!isJsonObject(json)) throw bad("the filter", "an object");
  const eventFields = stringsAt(json, "event_fields", "event_fields");
  return {
    // Synapse reads an empty list as "no projection": a server "may include more fields than were requested".
    eventFields: eventFields === undefined || eventFields.length === 0 ? undefined : eventFields,
    eventFormat: eventFormatAt(json),
    presence: parseEventFilter(objectAt(json, "presence", "presence"), "presence", policy),
    accountData: parseEventFilter(objectAt(json, "account_data", "account_data"), "account_data", policy),
    room: parseRoomFilter(objectAt(json, "room", "room"), "room", policy),
  };
}

/** The filter of a request that names none: everything, with the default limits. */
export const DEFAULT_FILTER: Filter = parseFilter({});
