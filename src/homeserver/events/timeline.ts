// A room's timeline as the room stream orders it (client-server-api#syncing: "ordered ... according
// to the arrival time of the event on the homeserver"), read in either direction. Sync reads its
// timelines here; /messages and /context page through it. No visibility here: callers filter.
// Positions run from below zero (history backfilled from other servers, oldest lowest:
// storage/stores/backfill-positions.ts) up through the events that arrived here live.
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import type { RoomTimelineStore, TimelineEntry } from "../../storage/stores/room-timeline.ts";

export type Direction = "f" | "b";

/** Before every position of the stream, backfilled ones included: "from the start" as a bound. */
export const STREAM_START = Number.MIN_SAFE_INTEGER;

export class Timeline {
  readonly #store: RoomTimelineStore;
  readonly #roomserver: Roomserver;

  constructor(store: RoomTimelineStore, roomserver: Roomserver) {
    this.#store = store;
    this.#roomserver = roomserver;
  }

  /**
   * At most `limit` events of the room with stream positions in (from, to] (`to` undefined: up to
   * the newest): `f` oldest first starting after `from`, `b` newest first starting at `to`.
   */
  async eventsBetween(roomId: string, from: number, to: number | undefined, limit: number, direction: Direction): Promise<RoomEventInfo[]> {
    return await this.events(await this.entriesBetween(roomId, from, to, limit, direction));
  }

  /** The same range as stream entries only (positions and event IDs), without loading the events. */
  async entriesBetween(roomId: string, from: number, to: number | undefined, limit: number, direction: Direction): Promise<TimelineEntry[]> {
    return await this.#store.page(roomId, { after: from, upTo: to }, limit, direction);
  }

  /** The newest position of the room's stream, or 0 when it has none. */
  async latestPosition(roomId: string): Promise<number> {
    // A room's newest events arrived live (above zero); with none, 0 still bounds the backfilled ones.
    const [newest] = await this.#store.page(roomId, { after: 0, upTo: undefined }, 1, "b");
    return newest?.streamOrdering ?? 0;
  }

  /** The room's event closest to a timestamp, `f` at or after it, `b` at or before it. */
  async closestToTimestamp(roomId: string, ts: number, direction: Direction): Promise<{ eventId: string; originServerTs: number } | undefined> {
    return await this.#store.closestByTimestamp(roomId, ts, direction);
  }

  /** The events of these entries, in their order (an entry whose event cannot be read is left out). */
  async events(entries: readonly TimelineEntry[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(entries.map((e) => this.#roomserver.getEvent(e.eventId)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined);
  }
}
