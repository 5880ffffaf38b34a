// The criteria of a room_events search (search.yaml "Room Events Criteria"), read from a request
// body the endpoint's schema has already checked the shape of, with the spec's defaults filled in.
import { MatrixError } from "../../core/errors.ts";
import { matchesAnyWildcard, parseRoomEventFilter, type LimitPolicy, type RoomEventFilter } from "../../core/filters/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { SearchKey, SearchOrder } from "../../storage/stores/search.ts";
import { KEY_EVENT_TYPES, SEARCH_KEYS } from "./searchable.ts";

/** search.yaml `groupings.group_by[].key`. */
export type GroupKey = "room_id" | "sender";

export interface EventContextCriteria {
  readonly beforeLimit: number;
  readonly afterLimit: number;
  readonly includeProfile: boolean;
}

export interface RoomEventsCriteria {
  readonly searchTerm: string;
  readonly keys: readonly SearchKey[];
  readonly filter: RoomEventFilter;
  readonly orderBy: SearchOrder;
  /** Undefined: no context asked for. */
  readonly eventContext: EventContextCriteria | undefined;
  readonly includeState: boolean;
  /** Each key once, in the order asked. */
  readonly groupBy: readonly GroupKey[];
}

/**
 * The filter's `limit` is how many results a page has: event_filter.yaml "Servers should apply a
 * default value, and impose a maximum value to avoid resource exhaustion" (Synapse's default is 10).
 */
export const SEARCH_LIMIT_POLICY: LimitPolicy = { defaultLimit: 10, maxLimit: 100 };

/** search.yaml `before_limit`/`after_limit`: "By default, this is `5`." */
export const DEFAULT_CONTEXT_LIMIT = 5;
/** Context events per side of each result at most (every result of a page has its context). */
export const MAX_CONTEXT_LIMIT = 50;

export function parseRoomEventsCriteria(json: JsonObject): RoomEventsCriteria {
  const searchTerm = json["search_term"];
  if (typeof searchTerm !== "string") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: search_term", 400);
  const keys = Array.isArray(json["keys"]) ? SEARCH_KEYS.filter((k) => (json["keys"] as unknown[]).includes(k)) : SEARCH_KEYS;
  const filter = parseRoomEventFilter(json["filter"] ?? {}, "filter", SEARCH_LIMIT_POLICY);
  // "By default, this is `rank`."
  const orderBy = json["order_by"] === "recent" ? "recent" : "rank";
  const context = json["event_context"];
  const groupings = json["groupings"];
  const groupBy = isJsonObject(groupings) && Array.isArray(groupings["group_by"]) ? groupings["group_by"] : [];
  return {
    searchTerm,
    keys,
    filter,
    orderBy,
    eventContext: isJsonObject(context)
      ? {
          beforeLimit: contextLimit(context, "before_limit"),
          afterLimit: contextLimit(context, "after_limit"),
          includeProfile: context["include_profile"] === true,
        }
      : undefined,
    includeState: json["include_state"] === true,
    groupBy: [...new Set(groupBy.flatMap((g): GroupKey[] => (isJsonObject(g) && (g["key"] === "room_id" || g["key"] === "sender") ? [g["key"]] : [])))],
  };
}

function contextLimit(context: JsonObject, name: string): number {
  const value = context[name];
  if (value === undefined) return DEFAULT_CONTEXT_LIMIT;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new MatrixError("M_INVALID_PARAM", `event_context.${name} must be a non-negative integer`, 400);
  }
  return Math.min(value, MAX_CONTEXT_LIMIT);
}

/**
 * The keys searched: those asked for whose event type the filter's `types` and `not_types` let
 * through (each key is searched in one type of event, searchable.ts).
 */
export function searchedKeys(keys: readonly SearchKey[], filter: RoomEventFilter): SearchKey[] {
  return keys.filter((key) => {
    const type = KEY_EVENT_TYPES[key];
    if (matchesAnyWildcard(filter.notTypes, type)) return false;
    return filter.types === undefined || matchesAnyWildcard(filter.types, type);
  });
}
