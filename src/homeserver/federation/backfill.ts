// Fetching a room's history from before we were in it (server-server-api#backfilling-and-retrieving-missing-events):
// /backfill from a server in the room, from the events we lack (the prev_events of our oldest
// events, the "backward extremities"); what comes back enters the pipeline as "backfilled",
// oldest first, with the state before the oldest fetched from the server when their own
// prev_events are still missing. Once stored, they join the timeline before everything the room
// had here (Roomserver.placeBackfilled: stream positions below zero), oldest lowest, so /messages
// pages back into them and sync never serves them as new.
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { STREAM_START } from "../events/timeline.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { errorText, type EventFetcher, type FetchClient } from "./event-fetcher.ts";
import { byPrevEvents, parsePdusOfRoom, sortTopologically } from "./remote-events.ts";
import type { ReadEvent, RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";

interface Log {
  info(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

/** Hears the events a backfill put into the timeline (the relations index), with their positions. */
export type PlacedListener = (events: ReadonlyArray<{ readonly event: RoomEvent; readonly streamOrdering: number }>) => Promise<void>;

export interface BackfillResult {
  /** The events stored, oldest first. */
  readonly events: RoomEvent[];
  /** What is still missing before them: where the next backfill starts. */
  readonly backwardExtremities: string[];
  /** How many events joined the timeline (those stored now, and any stored before without a place). */
  readonly placed: number;
}

const enc = encodeURIComponent;

/** After a backfill of a room found nothing to fetch from anyone, /messages does not ask again for this long. */
const NOTHING_FETCHED_RETRY_MS = 30_000;

/**
 * The events of `events` that are among `from` or precede them through prev_events within the set.
 * An answer without the `from` events themselves is walked from its newest (those no other cites).
 */
export function precedingFrom(events: readonly RoomEvent[], from: readonly string[]): RoomEvent[] {
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const reached = new Set<string>();
  let queue = from.filter((id) => byId.has(id));
  if (queue.length === 0) {
    const cited = new Set(events.flatMap((e) => e.prevEventIds));
    queue = events.filter((e) => !cited.has(e.eventId)).map((e) => e.eventId);
  }
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    if (reached.has(id)) continue;
    reached.add(id);
    for (const prev of byId.get(id)?.prevEventIds ?? []) if (byId.has(prev) && !reached.has(prev)) queue.push(prev);
  }
  return events.filter((e) => reached.has(e.eventId));
}

/** History stored (accepted) that has no position in the timeline yet. */
function unplaced(read: ReadEvent): boolean {
  return read.backfilled && !read.rejected && read.streamOrdering === undefined;
}

export class Backfiller {
  readonly #serverName: string;
  readonly #client: FetchClient;
  readonly #roomserver: Pick<Roomserver, "input" | "placeBackfilled">;
  readonly #reader: RoomReader;
  readonly #rooms: RoomServers;
  readonly #fetcher: EventFetcher;
  readonly #logger: Log | undefined;
  readonly #now: () => number;
  /** fillBefore under way, by room: requests at the same time share one. */
  readonly #filling = new Map<string, Promise<number>>();
  /** Rooms whose last fillBefore fetched nothing although history is missing: when to try again. */
  readonly #quietUntil = new Map<string, number>();
  readonly #placedListeners: PlacedListener[] = [];

  constructor(options: {
    serverName: string;
    client: FetchClient;
    roomserver: Pick<Roomserver, "input" | "placeBackfilled">;
    reader: RoomReader;
    rooms: RoomServers;
    fetcher: EventFetcher;
    logger?: Log;
    now?: () => number;
  }) {
    this.#serverName = options.serverName;
    this.#client = options.client;
    this.#roomserver = options.roomserver;
    this.#reader = options.reader;
    this.#rooms = options.rooms;
    this.#fetcher = options.fetcher;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Tells `listener` of every event a backfill puts into the timeline, after it is there. */
  onPlaced(listener: PlacedListener): void {
    this.#placedListeners.push(listener);
  }

  /**
   * The prev_events of the room's oldest timeline events that are not in its graph here, or are
   * history stored without its place in the timeline (a placement cut short: fetched again, placed then).
   */
  async backwardExtremities(roomId: string, scan = 100): Promise<string[]> {
    const oldest = await this.#reader.roomStream(roomId, STREAM_START, scan);
    const events = await this.#reader.events(oldest.map((e) => e.eventId));
    const prevs = [...new Set([...events.values()].flatMap((e) => e.event.prevEventIds))];
    const stored = await this.#reader.events(prevs);
    return prevs.filter((id) => {
      const prev = stored.get(id);
      return prev === undefined || prev.outlier || unplaced(prev);
    });
  }

  /**
   * Fetches up to `limit` events from before the room's oldest ones here (for /messages reaching
   * the start of what is stored). Returns how many joined the timeline.
   */
  fillBefore(roomId: string, limit: number): Promise<number> {
    const running = this.#filling.get(roomId);
    if (running !== undefined) return running;
    // A client paging at the start of a room whose servers have nothing (or cannot be reached)
    // does not wait for them on every request.
    if ((this.#quietUntil.get(roomId) ?? 0) > this.#now()) return Promise.resolve(0);
    const filling = (async () => {
      const from = await this.backwardExtremities(roomId);
      if (from.length === 0) return 0;
      const { placed } = await this.backfill(roomId, from, limit);
      if (placed === 0) this.#quietUntil.set(roomId, this.#now() + NOTHING_FETCHED_RETRY_MS);
      else this.#quietUntil.delete(roomId);
      return placed;
    })().finally(() => this.#filling.delete(roomId));
    this.#filling.set(roomId, filling);
    return filling;
  }

  /** Fetches up to `limit` events before `from` from a server in the room (the given ones first). */
  async backfill(roomId: string, from: readonly string[], limit: number, servers?: readonly string[]): Promise<BackfillResult> {
    const version = await this.#reader.roomVersion(roomId);
    if (version === undefined || from.length === 0) return { events: [], backwardExtremities: [...from], placed: 0 };
    const candidates = servers ?? (await this.#rooms.serversInRoom(roomId)).filter((s) => s !== this.#serverName);
    for (const server of candidates) {
      let answer: JsonObject;
      try {
        answer = await this.#client.get(server, `/_matrix/federation/v1/backfill/${enc(roomId)}`, {
          query: { v: [...from], limit },
          lenientNumbers: !version.strictCanonicalJson,
        });
      } catch (err) {
        this.#logger?.info({ server, roomId, err: errorText(err) }, "federation: /backfill failed");
        continue;
      }
      // backfill.yaml: "the PDUs given in v and the PDUs that preceded them", at most `limit`: more is
      // not read, and what is not one of them (found walking prev_events from `from`) is not taken.
      const pdus = Array.isArray(answer["pdus"]) ? answer["pdus"].slice(0, limit) : [];
      const got = sortTopologically(precedingFrom(parsePdusOfRoom(pdus, roomId, version), from), byPrevEvents);
      const stored = await this.#reader.events(got.map((e) => e.eventId));
      const fresh = got.filter((e) => stored.get(e.eventId)?.outlier !== false);
      // Stored before but never placed (a placement cut short): placed now.
      const notPlaced = got.filter((e) => {
        const read = stored.get(e.eventId);
        return read !== undefined && !read.outlier && unplaced(read);
      });
      if (fresh.length === 0 && notPlaced.length === 0) continue;
      const inSet = new Set(got.map((e) => e.eventId));
      const cited = [...new Set([...fresh, ...notPlaced].flatMap((e) => e.prevEventIds).filter((id) => !inSet.has(id)))];
      const placed = await this.#fetcher.placed(cited);
      const missing = new Set(cited.filter((id) => !placed.has(id)));
      const inputs = [];
      for (const event of fresh) {
        const stateBefore = event.prevEventIds.some((p) => missing.has(p))
          ? await this.#fetcher.stateBefore(server, roomId, version, event.eventId)
          : undefined;
        inputs.push(this.#roomserver.input({ kind: "backfilled", pdu: event.pdu, origin: server, stateBefore }));
      }
      const results = await Promise.all(inputs);
      const kept = fresh.filter((_, i) => results[i]?.outcome !== "refused");
      // Oldest first, all at once: placed one input at a time, a later batch would sort below an
      // earlier, older one. Rejected events stay out (the store only places accepted ones).
      const keptIds = new Set([...kept, ...notPlaced].map((e) => e.eventId));
      const positions = await this.#roomserver.placeBackfilled(roomId, got.filter((e) => keptIds.has(e.eventId)).map((e) => e.eventId));
      await this.#tellPlaced(positions);
      return { events: kept, backwardExtremities: [...missing], placed: positions.size };
    }
    return { events: [], backwardExtremities: [...from], placed: 0 };
  }

  async #tellPlaced(positions: ReadonlyMap<string, number>): Promise<void> {
    if (positions.size === 0 || this.#placedListeners.length === 0) return;
    // As stored: redacted when its hashes did not match, so its relation is gone too.
    const stored = await this.#reader.events([...positions.keys()]);
    const events = [...positions].flatMap(([id, streamOrdering]) => {
      const read = stored.get(id);
      return read === undefined ? [] : [{ event: read.event, streamOrdering }];
    });
    for (const listener of this.#placedListeners) {
      try {
        await listener(events);
      } catch (err) {
        this.#logger?.error?.({ err: errorText(err) }, "federation: a listener of backfilled events failed");
      }
    }
  }
}
