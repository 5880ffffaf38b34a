// The newest entries of each room's timeline, kept in memory from the roomserver's outputs, so that
// the incremental syncs of a busy room read their timelines without a query. Every event that
// enters the room stream is told as a new_room_event, in order within its room; so from the head at
// start on, a room's entries after `coveredFrom` are all here (a room with none has none since
// start). Older ranges go to storage.
import type { RoomserverOutput } from "../roomserver/index.ts";
import type { SyncTimeline, TimelineEntry } from "./sources.ts";

/** Entries kept per room. */
const PER_ROOM = 64;
const MAX_ROOMS = 20_000;

interface RoomEntries {
  /** Every entry with a position above this is in `entries`. */
  coveredFrom: number;
  readonly entries: TimelineEntry[];
}

export class RecentEvents implements SyncTimeline {
  readonly #inner: SyncTimeline;
  readonly #start: number;
  readonly #rooms = new Map<string, RoomEntries>();
  /** The highest position a room forgotten from the map had (its coverage is lost with it). */
  #forgotten = 0;

  /** `start`: the room stream's head when the outputs began to be heard. */
  constructor(inner: SyncTimeline, start: number) {
    this.#inner = inner;
    this.#start = start;
  }

  receive(output: RoomserverOutput): void {
    if (output.kind !== "new_room_event") return;
    let room = this.#rooms.get(output.roomId);
    if (room === undefined) room = { coveredFrom: Math.max(this.#start, this.#forgotten), entries: [] };
    // Re-inserted last: the map runs from the least recently written room.
    this.#rooms.delete(output.roomId);
    this.#rooms.set(output.roomId, room);
    if (this.#rooms.size > MAX_ROOMS) this.#forget();
    const last = room.entries.at(-1);
    if (last !== undefined && last.streamOrdering >= output.streamOrdering) return;
    room.entries.push({ streamOrdering: output.streamOrdering, eventId: output.event.eventId });
    if (room.entries.length > PER_ROOM) room.coveredFrom = (room.entries.shift() as TimelineEntry).streamOrdering;
  }

  async entriesBetween(roomId: string, from: number, to: number | undefined, limit: number, direction: "f" | "b"): Promise<TimelineEntry[]> {
    const room = this.#rooms.get(roomId);
    const coveredFrom = room?.coveredFrom ?? Math.max(this.#start, this.#forgotten);
    const inRange = (room?.entries ?? []).filter((e) => e.streamOrdering > from && (to === undefined || e.streamOrdering <= to));
    if (from >= coveredFrom) return direction === "f" ? inRange.slice(0, limit) : inRange.reverse().slice(0, limit);
    // Reading backwards, the newest `limit` of the range are here when that many are kept above
    // the covered position (an initial sync's timeline of a busy room).
    if (direction === "b" && inRange.length >= limit) return inRange.reverse().slice(0, limit);
    return await this.#inner.entriesBetween(roomId, from, to, limit, direction);
  }

  latestPosition(roomId: string): Promise<number> {
    return this.#inner.latestPosition(roomId);
  }

  getEvents(eventIds: readonly string[]): ReturnType<SyncTimeline["getEvents"]> {
    return this.#inner.getEvents(eventIds);
  }

  // Drops the least recently written room; rooms first seen later are covered only above its entries.
  #forget(): void {
    const oldest = this.#rooms.entries().next();
    if (oldest.done === true) return;
    const [roomId, room] = oldest.value;
    this.#rooms.delete(roomId);
    this.#forgotten = Math.max(this.#forgotten, room.entries.at(-1)?.streamOrdering ?? room.coveredFrom);
  }
}
