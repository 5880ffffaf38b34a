// Serving a room's events to other servers (server-server-api#backfilling-and-retrieving-missing-events,
// #retrieving-events, #retrieving-event-authorisation-information): /event, /state, /state_ids,
// /event_auth, /backfill, /get_missing_events, /timestamp_to_event. The requesting server must be
// in the room now and allowed by its ACL (the ACL section lists these endpoints); each event
// given is then filtered by the room's history visibility at it: one the server could not see
// (it had no member joined, or for "invited" joined or invited, then) is given redacted.
import { stateMapKey, type Pdu, type RoomEvent, type StateMap } from "../../core/events/room-event.ts";
import { redactEvent } from "../../core/events/redaction.ts";
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { ReadEvent, RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";

/** backfill.yaml: a limit for both, at most this many. */
export const MAX_BACKFILL = 100;
export const MAX_MISSING_EVENTS = 100;
/** How far /timestamp_to_event looks through a room's timeline (it has no index by time yet). */
const TIMESTAMP_SCAN_LIMIT = 50_000;

const HISTORY_VISIBILITY_KEY = stateMapKey("m.room.history_visibility", "");

function notFound(message = "Event not found"): MatrixError {
  return new MatrixError("M_NOT_FOUND", message, 404);
}

export class FederationRoomReads {
  readonly #serverName: string;
  readonly #reader: RoomReader;
  readonly #rooms: RoomServers;
  readonly #now: () => number;

  constructor(serverName: string, reader: RoomReader, rooms: RoomServers, now: () => number = Date.now) {
    this.#serverName = serverName;
    this.#reader = reader;
    this.#rooms = rooms;
    this.#now = now;
  }

  /** events.yaml GET /event/{eventId}: "A transaction containing a single PDU". */
  async event(origin: string, eventId: string): Promise<JsonObject> {
    const read = await this.#reader.event(eventId);
    if (read === undefined || read.rejected) throw notFound();
    await this.#checkAccess(origin, read.event.roomId);
    const [pdu] = await this.#visible(origin, [read]);
    return this.#transaction(pdu === undefined ? [] : [pdu]);
  }

  /** events.yaml /state and /state_ids: the state before the event, and the auth chain of that state. */
  async state(origin: string, roomId: string, eventId: string, idsOnly: boolean): Promise<JsonObject> {
    await this.#checkAccess(origin, roomId);
    const read = await this.#reader.event(eventId);
    if (read === undefined || read.event.roomId !== roomId || read.outlier) throw notFound("The state at that event is not known here");
    const state = await this.#reader.stateBefore(eventId);
    if (state === undefined) throw notFound("The state at that event is not known here");
    const stateIds = [...state.values()];
    const chain = [...(await this.#reader.authChain(stateIds))];
    if (idsOnly) return { pdu_ids: stateIds, auth_chain_ids: chain };
    const events = await this.#reader.events([...stateIds, ...chain]);
    const pdus = (ids: readonly string[]): Pdu[] => ids.flatMap<Pdu>((id) => events.get(id)?.event.pdu ?? []);
    return { pdus: pdus(stateIds), auth_chain: pdus(chain) };
  }

  /** event_auth.yaml: the auth chain of an event. */
  async eventAuth(origin: string, roomId: string, eventId: string): Promise<JsonObject> {
    await this.#checkAccess(origin, roomId);
    const read = await this.#reader.event(eventId);
    if (read === undefined || read.event.roomId !== roomId) throw notFound();
    const chain = [...(await this.#reader.authChain([eventId]))];
    const events = await this.#reader.events(chain);
    return { auth_chain: chain.flatMap<Pdu>((id) => events.get(id)?.event.pdu ?? []) };
  }

  /**
   * backfill.yaml: "the PDUs given in v and the PDUs that preceded them ... up to the total number
   * given by the limit", walked from the deepest back along prev_events.
   */
  async backfill(origin: string, roomId: string, from: readonly string[], limit: number): Promise<JsonObject> {
    await this.#checkAccess(origin, roomId);
    const max = Math.max(0, Math.min(MAX_BACKFILL, Math.floor(limit)));
    const found = new Map<string, ReadEvent>();
    const seen = new Set<string>();
    let frontier = [...new Set(from)];
    const queue: ReadEvent[] = [];
    while (found.size < max) {
      for (const id of frontier) seen.add(id);
      const read = await this.#reader.events(frontier);
      for (const event of read.values()) if (event.event.roomId === roomId && !event.outlier) queue.push(event);
      if (queue.length === 0) break;
      // The deepest first: the events closest to the ones asked about.
      queue.sort((a, b) => b.event.depth - a.event.depth);
      const next = queue.shift() as ReadEvent;
      found.set(next.event.eventId, next);
      frontier = next.event.prevEventIds.filter((id) => !seen.has(id));
    }
    const events = [...found.values()];
    return this.#transaction(await this.#visible(origin, events));
  }

  /**
   * backfill.yaml get_missing_events: "a breadth-first walk of the prev_events for the
   * latest_events, ignoring any events in earliest_events and stopping at the limit".
   */
  async missingEvents(origin: string, roomId: string, request: { earliest: readonly string[]; latest: readonly string[]; limit: number; minDepth: number }): Promise<JsonObject> {
    await this.#checkAccess(origin, roomId);
    const max = Math.max(0, Math.min(MAX_MISSING_EVENTS, Math.floor(request.limit)));
    const skip = new Set([...request.earliest, ...request.latest]);
    const found: ReadEvent[] = [];
    const latest = await this.#reader.events(request.latest);
    let frontier = [...new Set([...latest.values()].filter((r) => r.event.roomId === roomId).flatMap((r) => r.event.prevEventIds))].filter((id) => !skip.has(id));
    while (frontier.length > 0 && found.length < max) {
      for (const id of frontier) skip.add(id);
      const read = await this.#reader.events(frontier);
      const next: string[] = [];
      for (const id of frontier) {
        const event = read.get(id);
        if (event === undefined || event.event.roomId !== roomId || event.outlier || event.event.depth < request.minDepth) continue;
        if (found.length >= max) break;
        found.push(event);
        for (const prev of event.event.prevEventIds) if (!skip.has(prev)) next.push(prev);
      }
      frontier = [...new Set(next)];
    }
    found.sort((a, b) => a.event.depth - b.event.depth);
    return { events: await this.#visible(origin, found) };
  }

  /** events.yaml /timestamp_to_event: the event of the timeline closest to `ts` in direction `dir`. */
  async timestampToEvent(origin: string, roomId: string, ts: number, dir: "f" | "b"): Promise<JsonObject> {
    await this.#checkAccess(origin, roomId);
    let best: RoomEvent | undefined;
    let since = 0;
    for (let scanned = 0; scanned < TIMESTAMP_SCAN_LIMIT; ) {
      const page = await this.#reader.roomStream(roomId, since, 1000);
      if (page.length === 0) break;
      scanned += page.length;
      since = page[page.length - 1]?.streamOrdering ?? since;
      const events = await this.#reader.events(page.map((p) => p.eventId));
      for (const { eventId } of page) {
        const event = events.get(eventId)?.event;
        if (event === undefined) continue;
        const t = event.originServerTs;
        if (dir === "f" && t >= ts && (best === undefined || t < best.originServerTs)) best = event;
        if (dir === "b" && t <= ts && (best === undefined || t >= best.originServerTs)) best = event;
      }
    }
    if (best === undefined) throw notFound(`No event found ${dir === "f" ? "after" : "before"} ${ts}`);
    return { event_id: best.eventId, origin_server_ts: best.originServerTs };
  }

  /** The server ACL, then membership: "The requesting host is not in the room, or is excluded from the room via m.room.server_acl." */
  async #checkAccess(origin: string, roomId: string): Promise<void> {
    if (!(await this.#rooms.isAllowed(roomId, origin))) throw new MatrixError("M_FORBIDDEN", "The room's server ACL denies your server", 403);
    if (!(await this.#rooms.isServerInRoom(roomId, origin))) throw new MatrixError("M_FORBIDDEN", "Host not in room", 403);
  }

  /** The events as the server may see them: redacted where the history visibility at them hid them from it. */
  async #visible(origin: string, events: readonly ReadEvent[]): Promise<Pdu[]> {
    const out: Pdu[] = [];
    for (const read of events) {
      const state = await this.#reader.stateAfter(read.event.eventId);
      const pdu = read.event.pdu;
      out.push(state === undefined || (await this.#serverMaySee(origin, state)) ? pdu : redactEvent(pdu, read.event.roomVersion));
    }
    return out;
  }

  /**
   * client-server-api#history-visibility applied to a server: "world_readable" and "shared" show
   * everything to a server in the room; "invited" needs one of its users invited or joined at the
   * event, "joined" one joined.
   */
  async #serverMaySee(origin: string, state: StateMap): Promise<boolean> {
    const visibilityId = state.get(HISTORY_VISIBILITY_KEY);
    const visibility = visibilityId === undefined ? "shared" : ((await this.#reader.event(visibilityId))?.event.content["history_visibility"] ?? "shared");
    if (visibility !== "invited" && visibility !== "joined") return true;
    const suffix = `:${origin}`;
    const memberIds: string[] = [];
    for (const [key, id] of state) if (key.startsWith("m.room.member\u0000") && key.endsWith(suffix)) memberIds.push(id);
    const members = await this.#reader.events(memberIds);
    for (const member of members.values()) {
      const membership = member.event.content["membership"];
      if (membership === "join") return true;
      if (membership === "invite" && visibility === "invited") return true;
    }
    return false;
  }

  #transaction(pdus: Pdu[]): JsonObject {
    return { origin: this.#serverName, origin_server_ts: this.#now(), pdus };
  }
}
