// POST /search (search.yaml, modules/search.md): full-text search of the room events a user may
// see, in the rooms they are or were in (and any other room the filter names that they may read,
// a world_readable one: modules/room_previews.md lets clients search rooms they have not joined).
//
// The index (stores/search.ts) is asked for a page of matches at a time, best or newest first;
// each is then checked as every read endpoint checks events: still in the timeline and not
// redacted, not sent by a user the searcher ignores (state events excepted: modules/ignore_users.md),
// and visible under the history visibility rules. Pages are read until the page asked for is full,
// the matches run out, or a scan budget is spent; `next_batch` continues after the last match read.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import { parseSearchTerm } from "../../storage/stores/search-query.ts";
import type { SearchCursor, SearchQuery, SearchRoom, SearchStore } from "../../storage/stores/search.ts";
import type { RoomAccess } from "../events/access.ts";
import type { RoomReader } from "../events/room-reader.ts";
import type { EventSerializer } from "../events/serializer.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import { decodeBatch, encodeBatch, type SearchBatch } from "./batch-token.ts";
import type { ResultContexts } from "./context.ts";
import { parseRoomEventsCriteria, searchedKeys, type RoomEventsCriteria } from "./criteria.ts";
import { groupResults } from "./groups.ts";
import type { SearchIndexer } from "./indexer.ts";

export interface SearchServiceDeps {
  readonly store: Pick<SearchStore, "search" | "count" | "highlights">;
  readonly indexer: Pick<SearchIndexer, "settledWithin">;
  readonly roomserver: Pick<Roomserver, "getEvent">;
  readonly access: RoomAccess;
  readonly reader: RoomReader;
  readonly serializer: EventSerializer;
  readonly contexts: ResultContexts;
  /** The users a user ignores. */
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** The rooms the user has a membership of (the rooms area's membership index, settled). */
  readonly roomsOfUser: (userId: string) => Promise<readonly UserRoom[]>;
}

/** A room the user has a membership of: which, since when, and whether they forgot the room. */
export interface UserRoom {
  readonly roomId: string;
  readonly membership: string;
  /** Where the membership became current in the room stream. */
  readonly streamOrdering: number;
  readonly forgotten: boolean;
}

/** Rooms named in the filter that the user has no membership of are searched this many at most (each is checked). */
const MAX_PEEKED_ROOMS = 50;
/** How long a search waits for the index to take in what was sent just before it. */
const INDEX_WAIT_MS = 2000;
/** At most this many matches are read for one page besides the results served. */
const SCAN_BUDGET = 1000;
const MAX_PAGE = 200;

interface Page {
  readonly results: ReadonlyArray<{ readonly info: RoomEventInfo; readonly rank: number }>;
  /** Where the next page starts; undefined when the matches ran out. */
  readonly next: SearchCursor | undefined;
}

export class SearchService {
  readonly #deps: SearchServiceDeps;

  constructor(deps: SearchServiceDeps) {
    this.#deps = deps;
  }

  async search(requester: Requester, body: JsonObject, nextBatch: string | undefined): Promise<JsonObject> {
    const categories = body["search_categories"] as JsonObject;
    const roomEvents = categories["room_events"];
    // room_events is the only category there is; a request for none has nothing to answer.
    if (roomEvents === undefined) return { search_categories: {} };
    const criteria = parseRoomEventsCriteria(roomEvents as JsonObject);
    const batch = nextBatch === undefined ? undefined : decodeBatch(nextBatch);
    // "the client should send the *same* request to the server with a next_batch".
    if (batch !== undefined && batch.order !== criteria.orderBy) {
      throw new MatrixError("M_INVALID_PARAM", "next_batch belongs to a search in another order_by", 400);
    }
    return { search_categories: { room_events: await this.#roomEvents(requester, criteria, batch) } };
  }

  async #roomEvents(requester: Requester, criteria: RoomEventsCriteria, batch: SearchBatch | undefined): Promise<JsonObject> {
    const { filter } = criteria;
    const terms = parseSearchTerm(criteria.searchTerm);
    const group = batch?.group;
    const rooms = terms === undefined ? [] : await this.#searchedRooms(requester.userId, criteria, group?.key === "room_id" ? group.value : undefined);
    let senders = filter.senders;
    if (group?.key === "sender") senders = (senders ?? [group.value]).filter((s) => s === group.value);
    const query: SearchQuery | undefined =
      terms === undefined
        ? undefined
        : { terms, rooms, keys: searchedKeys(criteria.keys, filter), senders, notSenders: filter.notSenders, containsUrl: filter.containsUrl };

    await this.#deps.indexer.settledWithin(INDEX_WAIT_MS);
    const page = query === undefined ? { results: [], next: undefined } : await this.#page(requester.userId, query, criteria, batch?.after);
    const infos = page.results.map((r) => r.info);
    const [count, highlights, events, contexts, state] = await Promise.all([
      query === undefined ? 0 : this.#deps.store.count(query),
      terms === undefined ? [] : this.#deps.store.highlights(terms, infos.map((i) => i.event.eventId)),
      this.#deps.serializer.serialize(infos, {
        userId: requester.userId,
        ...(requester.deviceId === undefined ? {} : { deviceId: requester.deviceId }),
        bundleAggregations: true,
        includeMembership: true,
      }),
      this.#contexts(requester, criteria, infos, rooms),
      criteria.includeState ? this.#states(requester, infos) : undefined,
    ]);

    const next = page.next;
    const tokenFor = (scope: SearchBatch["group"]): string | undefined =>
      next === undefined ? undefined : encodeBatch({ order: criteria.orderBy, after: next, ...(scope === undefined ? {} : { group: scope }) });
    const out: JsonObject = {
      count,
      highlights,
      results: page.results.map((r, i) => ({
        rank: r.rank,
        result: events[i] as JsonObject,
        ...(contexts === undefined ? {} : { context: contexts[i] as JsonObject }),
      })),
    };
    if (state !== undefined) out["state"] = state;
    if (criteria.groupBy.length > 0) {
      const grouped = infos.map((i) => ({ eventId: i.event.eventId, roomId: i.event.roomId, sender: i.event.sender }));
      // Within a group's own pages, every token stays in that group (there is no other to give).
      out["groups"] = groupResults(grouped, criteria.groupBy, (key, value) => tokenFor(group ?? { key, value }));
    }
    const nextBatch = tokenFor(group);
    if (nextBatch !== undefined) out["next_batch"] = nextBatch;
    return out;
  }

  /**
   * The rooms searched and how far in each the user may read: the rooms they have a membership of
   * (search.md: "all rooms that the user has been in, including those that they have left") and
   * the rooms the filter names, narrowed by the filter's rooms and not_rooms (and a group's room).
   * A former member reads up to their leave (search.md: "it won't include events in rooms that
   * happened after you left"), a room they forgot not at all (leaving.yaml /forget: no longer
   * "able to retrieve history for this room"); a room named in the filter without a membership is
   * searched when the user may read it (a world_readable room: modules/room_previews.md).
   */
  async #searchedRooms(userId: string, criteria: RoomEventsCriteria, onlyRoom: string | undefined): Promise<SearchRoom[]> {
    const { filter } = criteria;
    const memberships = new Map((await this.#deps.roomsOfUser(userId)).map((r) => [r.roomId, r]));
    let candidates = filter.rooms ?? [...memberships.keys()];
    if (onlyRoom !== undefined) candidates = candidates.filter((id) => id === onlyRoom);
    const rooms: SearchRoom[] = [];
    const peeked: string[] = [];
    for (const roomId of new Set(candidates)) {
      if (filter.notRooms.includes(roomId)) continue;
      const entry = memberships.get(roomId);
      if (entry === undefined) peeked.push(roomId);
      else if (entry.membership !== "leave" && entry.membership !== "ban") rooms.push({ roomId, upTo: undefined });
      else if (!entry.forgotten) rooms.push({ roomId, upTo: entry.streamOrdering });
    }
    const readable = await Promise.all(
      peeked.slice(0, MAX_PEEKED_ROOMS).map(async (roomId): Promise<SearchRoom | undefined> => {
        try {
          return { roomId, upTo: (await this.#deps.access.readableUpTo(userId, roomId)).upTo };
        } catch (err) {
          if (err instanceof MatrixError) return undefined;
          throw err;
        }
      }),
    );
    return [...rooms, ...readable.filter((r): r is SearchRoom => r !== undefined)];
  }

  async #page(userId: string, query: SearchQuery, criteria: RoomEventsCriteria, after: SearchCursor | undefined): Promise<Page> {
    const limit = criteria.filter.limit;
    const ignored = await this.#deps.ignoredUsers(userId);
    const results: Array<{ info: RoomEventInfo; rank: number }> = [];
    let cursor = after;
    let read = 0;
    for (;;) {
      const pageSize = Math.min(MAX_PAGE, Math.max(10, (limit - results.length) * 2));
      const hits = await this.#deps.store.search(query, criteria.orderBy, cursor, pageSize);
      const infos = await Promise.all(hits.map((h) => this.#deps.roomserver.getEvent(h.eventId)));
      const candidates = infos.filter((info): info is RoomEventInfo => info !== undefined && servable(info, ignored));
      const visible = new Map((await this.#deps.access.visibility.filterEventsForUser(userId, candidates)).map((i) => [i.event.eventId, i]));
      for (const [index, hit] of hits.entries()) {
        cursor = { streamOrdering: hit.streamOrdering, ...(criteria.orderBy === "rank" ? { rank: hit.rank } : {}) };
        read++;
        const info = visible.get(hit.eventId);
        if (info !== undefined) results.push({ info, rank: hit.rank });
        if (results.length >= limit) {
          const exhausted = index === hits.length - 1 && hits.length < pageSize;
          return { results, next: exhausted ? undefined : cursor };
        }
      }
      if (hits.length < pageSize) return { results, next: undefined };
      if (read >= SCAN_BUDGET + limit) return { results, next: cursor };
    }
  }

  async #contexts(
    requester: Requester,
    criteria: RoomEventsCriteria,
    infos: readonly RoomEventInfo[],
    rooms: readonly SearchRoom[],
  ): Promise<JsonObject[] | undefined> {
    const context = criteria.eventContext;
    if (context === undefined) return undefined;
    const ignored = await this.#deps.ignoredUsers(requester.userId);
    const upTo = new Map(rooms.map((r) => [r.roomId, r.upTo]));
    return await Promise.all(
      infos.map((info) => this.#deps.contexts.contextOf(requester, info, { ...context, filter: criteria.filter, ignored, upTo: upTo.get(info.event.roomId) })),
    );
  }

  // search.yaml `state`: "The current state for every room in the results", as the user may read
  // it (GET /state's view: the state when they left, for a former member).
  async #states(requester: Requester, infos: readonly RoomEventInfo[]): Promise<JsonObject> {
    const roomIds = [...new Set(infos.map((i) => i.event.roomId))];
    const states = await Promise.all(
      roomIds.map((roomId) =>
        this.#deps.reader.state(requester, roomId).catch((err: unknown) => {
          if (err instanceof MatrixError) return undefined;
          throw err;
        }),
      ),
    );
    const out: JsonObject = {};
    for (const [i, roomId] of roomIds.entries()) {
      const state = states[i];
      if (state !== undefined) out[roomId] = state;
    }
    return out;
  }
}

/**
 * Whether a match may be served at all: still in the room's timeline and not redacted since it was
 * indexed (the index may be a moment behind), and not from an ignored user unless a state event.
 */
function servable(info: RoomEventInfo, ignored: ReadonlySet<string>): boolean {
  if (info.redactedBy !== undefined || info.rejectedReason !== undefined || info.softFailed || info.outlier || info.streamOrdering === undefined) return false;
  return info.event.stateKey !== undefined || !ignored.has(info.event.sender);
}
