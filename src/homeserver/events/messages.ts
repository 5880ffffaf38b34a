// Reading a room's history: GET /messages (message_pagination.yaml), GET /context/{eventId}
// (event_context.yaml, modules/event_context.md) and GET /timestamp_to_event
// (room_event_by_timestamp.yaml). Tokens are the sync area's pagination tokens (sync/token.ts): a
// position in the room stream, after the event whose stream order it carries; sync tokens are
// accepted as `from`/`to` too. Paging backwards past the oldest event stored here asks other
// servers for the history before it (server-server-api#backfilling-and-retrieving-missing-events),
// which joins the stream below everything else, oldest lowest (federation/backfill.ts).
import { MatrixError } from "../../core/errors.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { RoomEventFilter } from "../../core/filters/index.ts";
import { matchesEventFilter } from "../../core/filters/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import { encodePaginationToken, type RoomPosition } from "../sync/token.ts";
import type { EventVisibility, RoomAccess } from "./access.ts";
import { filterable, scanTimeline } from "./paginate.ts";
import type { TimelineEntry } from "../../storage/stores/room-timeline.ts";
import type { EventSerializer } from "./serializer.ts";
import type { StateLookup } from "./state-lookup.ts";
import { STREAM_START, type Direction, type Timeline } from "./timeline.ts";

export interface MessagesRequest {
  readonly from: RoomPosition | undefined;
  /** `from` as the client gave it: message_pagination.yaml's `start` "will be the same as the value given in from". */
  readonly fromToken: string | undefined;
  readonly to: RoomPosition | undefined;
  readonly dir: Direction;
  readonly limit: number;
  readonly filter: RoomEventFilter | undefined;
}

export interface ContextRequest {
  readonly limit: number;
  readonly filter: RoomEventFilter | undefined;
}

export interface MessagesDeps {
  readonly roomserver: Roomserver;
  readonly timeline: Timeline;
  readonly access: RoomAccess;
  readonly serializer: EventSerializer;
  readonly stateLookup: StateLookup;
  /** The users a user ignores: their (non-state) events are not served. */
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
}

/** Fetches up to `limit` events of history from before the oldest stored; resolves to how many joined the timeline. */
export type Backfill = (roomId: string, limit: number) => Promise<number>;

/**
 * Asks the room's other servers for an event closer to `ts` than `local` (ours, if any), fetched
 * and placed here; undefined when none is closer (federation/timestamp-lookup.ts).
 */
export type RemoteTimestamps = (
  roomId: string,
  ts: number,
  dir: Direction,
  local: { eventId: string; originServerTs: number } | undefined,
) => Promise<{ eventId: string; originServerTs: number } | undefined>;

/** Who reads a page of the timeline: up to where, which events they see, whom they ignore. */
interface PageView {
  readonly readable: number | undefined;
  readonly visibility: EventVisibility;
  readonly ignored: ReadonlySet<string>;
}

/** A server admin's view: every event held. */
const EVERYTHING_VISIBLE: EventVisibility = {
  filterEventsForUser: async (_userId, events) => [...events],
  canSeeEvent: async () => true,
};

/** Backfills one /messages request may make before it answers with what it has. */
const MAX_BACKFILLS = 3;

export class MessagesService {
  readonly #deps: MessagesDeps;
  #backfill: Backfill | undefined;
  #remoteTimestamps: RemoteTimestamps | undefined;

  constructor(deps: MessagesDeps) {
    this.#deps = deps;
  }

  /** Federation, once it exists, fetches the history before the oldest stored event. */
  useBackfill(backfill: Backfill): void {
    this.#backfill = backfill;
  }

  /** Where /timestamp_to_event asks when this server may lack the history (set once federation exists). */
  useRemoteTimestamps(lookup: RemoteTimestamps): void {
    this.#remoteTimestamps = lookup;
  }

  /** GET /rooms/{roomId}/messages. */
  async messages(requester: Requester, roomId: string, request: MessagesRequest): Promise<JsonObject> {
    // A former member reads up to the end of their membership.
    const { upTo: readable } = await this.#deps.access.readableUpTo(requester.userId, roomId);
    return await this.#page(requester, roomId, request, { readable, visibility: this.#deps.access.visibility, ignored: await this.#deps.ignoredUsers(requester.userId) });
  }

  /**
   * Synapse's admin API GET /_synapse/admin/v1/rooms/{roomId}/messages: the room's timeline as
   * /messages pages it, every event the server holds whatever the admin's membership and the
   * room's history visibility (a moderator reviewing a reported room). M_NOT_FOUND for a room not
   * known here.
   */
  async adminMessages(admin: Requester, roomId: string, request: MessagesRequest): Promise<JsonObject> {
    if ((await this.#deps.roomserver.roomVersion(roomId)) === undefined) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    return await this.#page(admin, roomId, request, { readable: undefined, visibility: EVERYTHING_VISIBLE, ignored: new Set() });
  }

  async #page(requester: Requester, roomId: string, request: MessagesRequest, view: PageView): Promise<JsonObject> {
    const { timeline } = this.#deps;
    const { readable, visibility, ignored } = view;
    const cap = (position: number | undefined) => (readable === undefined ? position : Math.min(position ?? readable, readable));
    const excluded = request.filter !== undefined && !roomAllowed(request.filter, roomId);

    let after: number;
    let upTo: number | undefined;
    let start: string;
    if (request.dir === "b") {
      const from = cap(request.from?.stream) ?? (await timeline.latestPosition(roomId));
      after = request.to?.stream ?? STREAM_START;
      upTo = from;
      start = request.fromToken ?? encodePaginationToken({ topological: 0, stream: from });
    } else {
      after = request.from?.stream ?? STREAM_START;
      upTo = cap(request.to?.stream);
      start = request.fromToken ?? encodePaginationToken({ topological: 0, stream: after });
    }
    if (excluded || request.limit === 0) return { chunk: [], start, ...(request.limit === 0 ? { end: start } : {}) };

    const events: RoomEventInfo[] = [];
    let last: TimelineEntry | undefined;
    let lastDepth = 0;
    let exhausted: boolean;
    for (let backfills = 0; ; backfills++) {
      const scan = await scanTimeline(timeline, visibility, {
        ignored,
        userId: requester.userId,
        roomId,
        after,
        upTo,
        dir: request.dir,
        limit: request.limit - events.length,
        filter: request.filter,
      });
      events.push(...scan.events);
      if (scan.last !== undefined) ({ last, lastDepth } = scan);
      exhausted = scan.exhausted;
      // At the start of what is stored (and asked for all of it): the history before it, if another server has it.
      const backfill = this.#backfill;
      if (!exhausted || request.dir !== "b" || request.to !== undefined || backfill === undefined || backfills >= MAX_BACKFILLS) break;
      if ((await backfill(roomId, Math.max(request.limit, 20))) === 0) break;
      exhausted = false;
      if (events.length >= request.limit) break;
      if (last !== undefined) upTo = last.streamOrdering - 1;
    }
    const response: JsonObject = {
      chunk: await this.#serialize(requester, events),
      start,
    };
    // "If no further events are available ... this property is omitted."
    if (!exhausted && last !== undefined) {
      const stream = request.dir === "b" ? last.streamOrdering - 1 : last.streamOrdering;
      response["end"] = encodePaginationToken({ topological: lastDepth, stream });
    }
    if (request.filter?.lazyLoadMembers === true && events.length > 0) {
      response["state"] = await this.#serializeState(requester, await this.#sendersMembership(events));
    }
    return response;
  }

  /** GET /rooms/{roomId}/context/{eventId}. */
  async context(requester: Requester, roomId: string, eventId: string, request: ContextRequest): Promise<JsonObject> {
    const { access } = this.#deps;
    // A user with no part in the room is refused (403) before any event is looked up, as sytest's
    // "/context/ on non world readable room does not work" expects (event_context.yaml names no
    // error); an event they cannot see in a room they can read is M_NOT_FOUND, as for /event.
    const { upTo: readable } = await access.readableUpTo(requester.userId, roomId);
    const event = await access.visibleEvent(requester.userId, roomId, eventId);
    return await this.#context(requester, roomId, event, request, { readable, visibility: access.visibility, ignored: await this.#deps.ignoredUsers(requester.userId) });
  }

  /**
   * Synapse's admin API GET /_synapse/admin/v1/rooms/{roomId}/context/{eventId}: an event and the
   * events around it as /context gives them, every event held visible to the admin (adminMessages).
   */
  async adminContext(admin: Requester, roomId: string, eventId: string, request: ContextRequest): Promise<JsonObject> {
    const info = await this.#deps.roomserver.getEvent(eventId);
    if (info === undefined || info.event.roomId !== roomId || info.rejectedReason !== undefined || info.softFailed || info.outlier) {
      throw new MatrixError("M_NOT_FOUND", "Event not found", 404);
    }
    return await this.#context(admin, roomId, info, request, { readable: undefined, visibility: EVERYTHING_VISIBLE, ignored: new Set() });
  }

  async #context(requester: Requester, roomId: string, event: RoomEventInfo, request: ContextRequest, view: PageView): Promise<JsonObject> {
    const { timeline } = this.#deps;
    const { readable, visibility, ignored } = view;
    const [eventJson] = await this.#serialize(requester, [event]);
    const response: JsonObject = { event: eventJson as JsonObject, events_before: [], events_after: [], state: [] };
    const position = event.streamOrdering;
    // An event outside the timeline (an outlier fetched over federation) has no context to page.
    if (position === undefined) return response;
    const excluded = request.filter !== undefined && !roomAllowed(request.filter, roomId);
    // event_context.yaml: "The limit applies to the sum of the events_before and events_after".
    const beforeLimit = excluded ? 0 : Math.floor(request.limit / 2);
    const afterLimit = excluded ? 0 : request.limit - beforeLimit;
    const common = { userId: requester.userId, roomId, filter: request.filter, ignored };
    const [before, after] = await Promise.all([
      scanTimeline(timeline, visibility, { ...common, after: STREAM_START, upTo: position - 1, dir: "b", limit: beforeLimit }),
      scanTimeline(timeline, visibility, {
        ...common,
        after: position,
        upTo: readable === undefined ? undefined : Math.max(readable, position),
        dir: "f",
        limit: afterLimit,
      }),
    ]);
    const startStream = before.last === undefined ? position - 1 : before.last.streamOrdering - 1;
    const endStream = after.last?.streamOrdering ?? position;
    response["start"] = encodePaginationToken({ topological: before.last === undefined ? event.event.depth : before.lastDepth, stream: startStream });
    response["end"] = encodePaginationToken({ topological: after.last === undefined ? event.event.depth : after.lastDepth, stream: endStream });
    response["events_before"] = await this.#serialize(requester, before.events);
    response["events_after"] = await this.#serialize(requester, after.events);
    // "The state of the room at the last event returned", filtered like the events.
    const lastEvent = after.events[after.events.length - 1] ?? event;
    const all = [...before.events, event, ...after.events];
    const state =
      request.filter?.lazyLoadMembers === true ? await this.#sendersMembership(all, lastEvent) : await this.#fullState(lastEvent);
    const filter = request.filter;
    response["state"] = await this.#serializeState(requester, filter === undefined ? state : state.filter((s) => matchesEventFilter(filter, filterable(s))));
    return response;
  }

  /** GET /rooms/{roomId}/timestamp_to_event. */
  async timestampToEvent(requester: Requester, roomId: string, ts: number, dir: Direction): Promise<JsonObject> {
    const { access, timeline } = this.#deps;
    await access.readableUpTo(requester.userId, roomId);
    const local = await timeline.closestToTimestamp(roomId, ts, dir);
    // room_event_by_timestamp.yaml: a server that may not have all of the room's history can ask
    // the other servers for a closer event; none can be closer than one at the very timestamp.
    const remote = local?.originServerTs === ts ? undefined : await this.#remoteTimestamps?.(roomId, ts, dir, local);
    for (const found of [remote, local]) {
      if (found !== undefined && (await access.visibility.canSeeEvent(requester.userId, found.eventId))) {
        return { event_id: found.eventId, origin_server_ts: found.originServerTs };
      }
    }
    throw new MatrixError("M_NOT_FOUND", `No event found ${dir === "f" ? "after" : "before"} ${ts}`, 404);
  }

  async #serialize(requester: Requester, events: readonly RoomEventInfo[]): Promise<JsonObject[]> {
    return await this.#deps.serializer.serialize(events, {
      userId: requester.userId,
      ...(requester.deviceId === undefined ? {} : { deviceId: requester.deviceId }),
      bundleAggregations: true,
      includeMembership: true,
    });
  }

  async #serializeState(requester: Requester, events: readonly RoomEventInfo[]): Promise<JsonObject[]> {
    return await this.#deps.serializer.serialize(events, { userId: requester.userId });
  }

  // client-server-api#lazy-loading-room-members: "membership events for the sender of events being
  // included in the response", as of each event (or as of `at` when given).
  async #sendersMembership(events: readonly RoomEventInfo[], at?: RoomEventInfo): Promise<RoomEventInfo[]> {
    const wanted = new Map<string, string[]>();
    if (at !== undefined) {
      wanted.set(at.event.eventId, [...new Set(events.map((e) => stateMapKey("m.room.member", e.event.sender)))]);
    } else {
      for (const e of events) wanted.set(e.event.eventId, [...(wanted.get(e.event.eventId) ?? []), stateMapKey("m.room.member", e.event.sender)]);
    }
    const found = await this.#deps.stateLookup.at(wanted, "after");
    // One membership per sender: the first found (the newest for /messages backwards).
    const bySender = new Map<string, string>();
    for (const e of at === undefined ? events : [at]) {
      for (const [key, id] of found.get(e.event.eventId) ?? []) {
        if (!bySender.has(key)) bySender.set(key, id);
      }
    }
    return await this.#load([...new Set(bySender.values())]);
  }

  async #fullState(at: RoomEventInfo): Promise<RoomEventInfo[]> {
    const state = await this.#deps.roomserver.stateAt(at.event.eventId, "after");
    return await this.#load([...(state?.values() ?? [])]);
  }

  async #load(ids: readonly string[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(ids.map((id) => this.#deps.roomserver.getEvent(id)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined);
  }
}

// room_event_filter.yaml `rooms`/`not_rooms`: a filter that leaves this room out matches nothing here.
function roomAllowed(filter: RoomEventFilter, roomId: string): boolean {
  if (filter.notRooms.includes(roomId)) return false;
  return filter.rooms === undefined || filter.rooms.includes(roomId);
}
