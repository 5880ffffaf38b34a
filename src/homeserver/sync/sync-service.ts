// GET /sync (client-server-api#get_matrixclientv3sync): resolves the filter, marks the user's
// presence, acknowledges the to-device messages the `since` token shows were received, and
// long-polls: "The server will then hold open the HTTP connection for a short period of time
// waiting for new events, returning early if an event occurs." The wait is the notifier's; a wake
// that yields nothing for this user (a change they cannot see) waits again, from where it read.
import { MatrixError } from "../../core/errors.ts";
import { DEFAULT_FILTER, parseFilter, type Filter } from "../../core/filters/index.ts";
import type { JsonObject } from "../../core/json.ts";
import { packedFilter, packedMap } from "../../core/packed-map.ts";
import type { Requester } from "../../http/endpoint.ts";
import { validateFilter } from "../filters/filter-service.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Notifier } from "./notifier.ts";
import type { Presence, PresenceService } from "./presence.ts";
import type { StateAfterKey, SyncResponseBuilder } from "./response.ts";
import type { SyncMemberships, SyncToDevice } from "./sources.ts";
import { STREAMS, encodeSyncToken, parseSyncToken, type StreamName, type StreamPositions } from "./token.ts";
import type { UserRooms } from "./user-cache.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** The query parameters of GET /sync, parsed. */
export interface SyncParams {
  readonly since: string | undefined;
  /** A filter ID, or a filter as JSON (it starts with `{`). */
  readonly filter: string | undefined;
  readonly fullState: boolean;
  /**
   * `use_state_after` (sync.yaml, v1.16): the response property that carries each room's state at
   * the end of its timeline in place of `state`; undefined for `state` as before.
   */
  readonly stateAfter?: StateAfterKey;
  /** `set_presence`; absent means online. */
  readonly setPresence: Presence | undefined;
  readonly timeoutMs: number;
}

export interface SyncServiceDeps {
  readonly notifier: Notifier;
  readonly builder: SyncResponseBuilder;
  readonly memberships: SyncMemberships;
  readonly userRooms: UserRooms;
  readonly presence: PresenceService;
  readonly toDevice: SyncToDevice | undefined;
  /** Every stream's position now: what a token taken now holds. */
  readonly positions: () => StreamPositions;
  /** A stored filter (GET /user/{userId}/filter/{filterId}); throws M_NOT_FOUND. */
  readonly storedFilter: (requester: Requester, filterId: string) => Promise<JsonObject>;
  readonly clock?: Clock;
}

/** Streams kept in memory only: after a restart a token may be ahead of them, and they start over. */
const MEMORY_STREAMS: ReadonlySet<StreamName> = new Set<StreamName>(["typing", "presence"]);
const MAX_CACHED_FILTERS = 10_000;

export class SyncService {
  readonly #deps: SyncServiceDeps;
  readonly #clock: Clock;
  readonly #filters = new Map<string, Filter>();

  constructor(deps: SyncServiceDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  async sync(requester: Requester, params: SyncParams, signal?: AbortSignal): Promise<JsonObject> {
    const d = this.#deps;
    const { userId, deviceId } = requester;
    const filter = await this.#filter(requester, params.filter);
    const parsed = params.since === undefined ? undefined : parseSyncToken(params.since);
    const endPresence = d.presence.syncStarted(userId, params.setPresence ?? "online");
    try {
      let to = d.positions();
      const since = parsed === undefined ? undefined : normalise(parsed, to);
      // The token says the device received every message up to its position (modules/send_to_device.md).
      if (since !== undefined && deviceId !== undefined && d.toDevice !== undefined && since.toDevice > 0) {
        await d.toDevice.acknowledge(userId, deviceId, since.toDevice);
      }
      // sync.yaml `full_state`: "the timeout parameter will be ignored and the query will return immediately".
      const longPoll = since !== undefined && !params.fullState;
      const deadline = this.#clock.now() + (longPoll ? Math.max(0, params.timeoutMs) : 0);
      let waitFrom = since;
      for (;;) {
        if (longPoll && waitFrom !== undefined) {
          await d.memberships.waitUntil(to.roomEvents);
          const rooms = packedMap(packedFilter(await d.userRooms.roomsAt(userId, to.roomEvents), (r) => r.membership === "join"), (r) => r.roomId);
          if (!d.notifier.hasChangesSince(userId, rooms, waitFrom)) {
            const remaining = deadline - this.#clock.now();
            if (remaining <= 0 || signal?.aborted === true) return { next_batch: encodeSyncToken(maxOf(to, since)) };
            const reason = await d.notifier.waitForChanges(userId, rooms, waitFrom, remaining, signal);
            const now = d.positions();
            if (reason !== "changed") return { next_batch: encodeSyncToken(maxOf(now, since)) };
            to = now;
            continue;
          }
        }
        const built = await d.builder.build({ userId, deviceId, filter, since, to, fullState: params.fullState, stateAfter: params.stateAfter });
        if (!built.empty || !longPoll || this.#clock.now() >= deadline || signal?.aborted === true) return built.response;
        // Woken for something this user does not see: wait for what comes after what was read.
        waitFrom = to;
        to = d.positions();
      }
    } finally {
      endPresence();
    }
  }

  // sync.yaml `filter`: "The server will detect whether it is an ID or a JSON object by whether the
  // first character is a "{" open brace."
  async #filter(requester: Requester, param: string | undefined): Promise<Filter> {
    if (param === undefined || param === "") return DEFAULT_FILTER;
    const key = `${requester.userId}\u0000${param}`;
    const cached = this.#filters.get(key);
    if (cached !== undefined) return cached;
    let json: unknown;
    if (param.startsWith("{")) {
      try {
        json = JSON.parse(param);
      } catch {
        throw new MatrixError("M_NOT_JSON", "The filter is not valid JSON", 400);
      }
      validateFilter(json);
    } else {
      json = await this.#deps.storedFilter(requester, param);
    }
    const filter = parseFilter(json);
    rememberRecent(this.#filters, key, filter, MAX_CACHED_FILTERS);
    return filter;
  }
}

/**
 * A token ahead of a stream is one from before a restart: the in-memory streams start over (the
 * token reads from their start), the stored ones are only ever behind (it is clamped).
 */
function normalise(since: StreamPositions, now: StreamPositions): StreamPositions {
  const out: Record<StreamName, number> = { ...since };
  for (const stream of STREAMS) {
    if (since[stream] > now[stream]) out[stream] = MEMORY_STREAMS.has(stream) ? 0 : now[stream];
  }
  return Object.freeze(out);
}

function maxOf(a: StreamPositions, b: StreamPositions | undefined): StreamPositions {
  if (b === undefined) return a;
  const out: Record<StreamName, number> = { ...a };
  for (const stream of STREAMS) out[stream] = Math.max(a[stream], b[stream]);
  return out;
}
