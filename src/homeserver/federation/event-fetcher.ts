// Fetching what received events refer to and we do not have
// (server-server-api#backfilling-and-retrieving-missing-events, #retrieving-events):
// - gaps: the prev_events of new events, with /get_missing_events, asked again from the oldest
//   events fetched until the gap closes or a bound is reached;
// - the state before an event whose prev_events stay missing, with /state_ids, its events
//   fetched with /event (or all at once with /state when many are missing) and stored as outliers.
// Everything fetched goes through the pipeline like any received event.
import { stateMapKey, type RoomEvent, type StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { isStored, parsePdu, parsePdusOfRoom, sortTopologically, byPrevEvents, storeOutliers } from "./remote-events.ts";
import type { RoomReader } from "./room-reader.ts";

export interface FetchClient {
  get(destination: string, path: string, options?: { query?: Record<string, string | number | readonly string[]>; timeoutMs?: number; lenientNumbers?: boolean }): Promise<JsonObject>;
  post(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number; lenientNumbers?: boolean }): Promise<JsonObject>;
}

interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Events asked per /get_missing_events; the default is 10, we ask for more to close gaps in fewer rounds. */
const MISSING_EVENTS_LIMIT = 100;
/** The most events one gap is filled with before falling back to asking for the state. */
const MAX_GAP_EVENTS = 1000;
/** More missing state events than this are fetched with one /state rather than one /event each. */
const FETCH_ONE_BY_ONE = 50;
const PARALLEL_FETCHES = 8;

const enc = encodeURIComponent;

export interface FilledGap {
  /** Fetched events to input before the received ones, in an order the pipeline can take. */
  readonly missing: RoomEvent[];
  /** The state before those events (fetched or received) whose prev_events could not all be fetched. */
  readonly stateBefore: Map<string, StateMap>;
}

export class EventFetcher {
  readonly #client: FetchClient;
  readonly #roomserver: Pick<Roomserver, "input">;
  readonly #reader: RoomReader;
  readonly #logger: Log | undefined;

  constructor(client: FetchClient, roomserver: Pick<Roomserver, "input">, reader: RoomReader, logger?: Log) {
    this.#client = client;
    this.#roomserver = roomserver;
    this.#reader = reader;
    this.#logger = logger;
  }

  /** Which of these events are in the room's graph here (stored, not as outliers). */
  async placed(eventIds: readonly string[]): Promise<Set<string>> {
    const found = await this.#reader.events(eventIds);
    return new Set([...found].filter(([, e]) => !e.outlier).map(([id]) => id));
  }

  /**
   * Closes the gaps before `events` (received together, for one room) with `origin`'s help.
   * Throws only when storage fails; what cannot be fetched is left for the pipeline to refuse.
   */
  async fillGaps(origin: string, roomId: string, version: RoomVersion, events: readonly RoomEvent[]): Promise<FilledGap> {
    const have = new Map<string, RoomEvent>(events.map((e) => [e.eventId, e]));
    const missingPrevs = async (): Promise<Set<string>> => {
      const cited = new Set<string>();
      for (const event of have.values()) for (const prev of event.prevEventIds) if (!have.has(prev)) cited.add(prev);
      const placed = await this.placed([...cited]);
      return new Set([...cited].filter((id) => !placed.has(id)));
    };
    let missing = await missingPrevs();
    const fetched = new Map<string, RoomEvent>();
    if (missing.size > 0) {
      const earliest = await this.#reader.forwardExtremities(roomId);
      const extremities = await this.#reader.events(earliest);
      const depths = [...extremities.values()].map((e) => e.event.depth);
      const minDepth = depths.length === 0 ? 0 : Math.min(...depths);
      let latest = events.filter((e) => e.prevEventIds.some((p) => missing.has(p))).map((e) => e.eventId);
      while (missing.size > 0 && fetched.size < MAX_GAP_EVENTS && latest.length > 0) {
        let answer: JsonObject;
        try {
          answer = await this.#client.post(
            origin,
            `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`,
            { earliest_events: earliest, latest_events: latest, limit: MISSING_EVENTS_LIMIT, min_depth: minDepth },
            { lenientNumbers: !version.strictCanonicalJson },
          );
        } catch (err) {
          this.#logger?.info({ err: errorText(err), origin, roomId }, "federation: /get_missing_events failed");
          break;
        }
        const got = parsePdusOfRoom(answer["events"], roomId, version).filter((e) => !have.has(e.eventId));
        if (got.length === 0) break;
        for (const event of got) {
          have.set(event.eventId, event);
          fetched.set(event.eventId, event);
        }
        missing = await missingPrevs();
        // Ask again from the events that still cite something missing.
        latest = [...fetched.values()].filter((e) => e.prevEventIds.some((p) => missing.has(p))).map((e) => e.eventId);
      }
    }
    const stateBefore = new Map<string, StateMap>();
    if (missing.size > 0) {
      // What is still missing: ask for the state before each event that cites it.
      for (const event of have.values()) {
        if (!event.prevEventIds.some((p) => missing.has(p))) continue;
        const state = await this.stateBefore(origin, roomId, version, event.eventId);
        if (state !== undefined) stateBefore.set(event.eventId, state);
      }
    }
    return { missing: sortTopologically([...fetched.values()], byPrevEvents), stateBefore };
  }

  /**
   * The state before an event, as `origin` has it (/state_ids), its events stored here (as
   * outliers when new). Undefined when the server does not answer.
   */
  async stateBefore(origin: string, roomId: string, version: RoomVersion, eventId: string): Promise<StateMap | undefined> {
    let ids: JsonObject;
    try {
      ids = await this.#client.get(origin, `/_matrix/federation/v1/state_ids/${enc(roomId)}`, { query: { event_id: eventId } });
    } catch (err) {
      this.#logger?.info({ err: errorText(err), origin, roomId, eventId }, "federation: /state_ids failed");
      return undefined;
    }
    const stateIds = stringList(ids["pdu_ids"]);
    const authIds = stringList(ids["auth_chain_ids"]);
    const stored = await this.#reader.events([...stateIds, ...authIds]);
    const wanted = [...new Set([...stateIds, ...authIds])].filter((id) => !stored.has(id));
    const events = new Map<string, RoomEvent>();
    if (wanted.length > FETCH_ONE_BY_ONE) {
      try {
        const state = await this.#client.get(origin, `/_matrix/federation/v1/state/${enc(roomId)}`, {
          query: { event_id: eventId },
          lenientNumbers: !version.strictCanonicalJson,
        });
        for (const event of [...parsePdusOfRoom(state["pdus"], roomId, version), ...parsePdusOfRoom(state["auth_chain"], roomId, version)]) {
          events.set(event.eventId, event);
        }
      } catch (err) {
        this.#logger?.info({ err: errorText(err), origin, roomId, eventId }, "federation: /state failed");
        return undefined;
      }
    } else {
      for (const event of await this.fetchEvents(origin, roomId, version, wanted)) events.set(event.eventId, event);
    }
    const wantedSet = new Set(wanted);
    const results = await storeOutliers(this.#roomserver, [...events.values()].filter((e) => wantedSet.has(e.eventId)), version, origin);
    const state: StateMap = new Map();
    for (const id of stateIds) {
      const event = stored.get(id)?.event ?? (isStored(results.get(id)) ? events.get(id) : undefined);
      if (event === undefined || event.stateKey === undefined) continue;
      if (stored.get(id)?.rejected === true || results.get(id)?.outcome === "rejected") continue;
      state.set(stateMapKey(event.type, event.stateKey), id);
    }
    return state;
  }

  /** Events by ID with /event, a few at a time; those that cannot be had are left out. */
  async fetchEvents(origin: string, roomId: string, version: RoomVersion, eventIds: readonly string[]): Promise<RoomEvent[]> {
    const out: RoomEvent[] = [];
    const queue = [...eventIds];
    const worker = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const event = await this.fetchEvent(origin, roomId, version, id);
        if (event !== undefined) out.push(event);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_FETCHES, queue.length) }, worker));
    return out;
  }

  /** One event with /event/{eventId}: only if it is the one asked for, of this room. */
  async fetchEvent(origin: string, roomId: string, version: RoomVersion, eventId: string): Promise<RoomEvent | undefined> {
    let answer: JsonObject;
    try {
      answer = await this.#client.get(origin, `/_matrix/federation/v1/event/${enc(eventId)}`, { lenientNumbers: !version.strictCanonicalJson });
    } catch (err) {
      this.#logger?.info({ err: errorText(err), origin, eventId }, "federation: /event failed");
      return undefined;
    }
    const pdus = answer["pdus"];
    const parsed = Array.isArray(pdus) && pdus.length > 0 ? parsePdu(pdus[0], version) : undefined;
    if (parsed === undefined || !("event" in parsed)) return undefined;
    if (parsed.event.eventId !== eventId || parsed.event.roomId !== roomId) return undefined;
    return parsed.event;
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
