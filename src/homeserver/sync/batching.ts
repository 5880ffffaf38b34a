// An initial sync builds every room at once, and each room asks for its events, the state at its
// timeline and what the user may see of it. Asked one room at a time, that is tens of thousands of
// small reads; here the asks of one turn of the event loop are gathered and answered together:
// events in bulk (and kept, a bounded number, until a redaction changes them), states in bulk, and
// the visibility of all the rooms' events in one call.
import type { StateMap } from "../../core/events/room-event.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import type { SyncRoomState, SyncVisibility } from "./sources.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** Gathers the keys asked for during one turn of the event loop and loads them together. */
export class Batcher<K, V> {
  readonly #load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;
  #pending: { keys: Set<K>; done: Promise<ReadonlyMap<K, V>> } | undefined;

  constructor(load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>) {
    this.#load = load;
  }

  async get(keys: readonly K[]): Promise<ReadonlyMap<K, V>> {
    if (keys.length === 0) return new Map();
    if (this.#pending === undefined) {
      const batch = { keys: new Set<K>(), done: undefined as unknown as Promise<ReadonlyMap<K, V>> };
      batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#pending = undefined;
        return this.#load([...batch.keys]);
      });
      this.#pending = batch;
    }
    for (const key of keys) this.#pending.keys.add(key);
    return await this.#pending.done;
  }
}

/** How many events the loader keeps. */
const KEPT_EVENTS = 20_000;
/** Up to this many events in a batch are read one by one (through the room engine's cache). */
const ONE_BY_ONE = 32;

export interface EventSources {
  /** One event, as the room engine serves it (from its cache when it has it). */
  readonly one: (eventId: string) => Promise<RoomEventInfo | undefined>;
  /** Many events in one read of storage. */
  readonly many: (eventIds: readonly string[]) => Promise<ReadonlyMap<string, RoomEventInfo>>;
}

export class EventLoader {
  readonly #kept = new Map<string, RoomEventInfo>();
  readonly #batcher: Batcher<string, RoomEventInfo>;

  constructor(sources: EventSources) {
    this.#batcher = new Batcher(async (ids) => {
      if (ids.length > ONE_BY_ONE) return await sources.many(ids);
      const out = new Map<string, RoomEventInfo>();
      for (const info of await Promise.all(ids.map((id) => sources.one(id)))) if (info !== undefined) out.set(info.event.eventId, info);
      return out;
    });
  }

  /** The events among these IDs that exist, in the order asked. */
  async getEvents(eventIds: readonly string[]): Promise<RoomEventInfo[]> {
    // Taken now: what is kept may be pushed out by other reads while the missing ones load.
    const found = new Map<string, RoomEventInfo>();
    const missing: string[] = [];
    for (const id of eventIds) {
      const info = this.#kept.get(id);
      if (info === undefined) missing.push(id);
      else found.set(id, info);
    }
    if (missing.length > 0) {
      const loaded = await this.#batcher.get(missing);
      for (const id of missing) {
        const info = loaded.get(id);
        if (info === undefined) continue;
        found.set(id, info);
        this.#keep(id, info);
      }
    }
    const out: RoomEventInfo[] = [];
    for (const id of eventIds) {
      const info = found.get(id);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  /** The event changed (a redaction applied to it): read it again next time. */
  forget(eventId: string): void {
    this.#kept.delete(eventId);
  }

  #keep(id: string, info: RoomEventInfo): void {
    rememberRecent(this.#kept, id, info, KEPT_EVENTS);
  }
}

/** The state before or after each of many events, read in bulk. */
export class BatchedRoomState implements SyncRoomState {
  readonly #batchers: Record<"before" | "after", Batcher<string, StateMap>>;

  constructor(statesAt: (eventIds: readonly string[], when: "before" | "after") => Promise<ReadonlyMap<string, StateMap>>) {
    this.#batchers = {
      before: new Batcher((ids) => statesAt(ids, "before")),
      after: new Batcher((ids) => statesAt(ids, "after")),
    };
  }

  async stateAt(eventId: string, when: "before" | "after"): Promise<StateMap | undefined> {
    return (await this.#batchers[when].get([eventId])).get(eventId);
  }
}

/** History visibility for the events of many rooms, asked for one user, decided in one call. */
export class BatchedVisibility implements SyncVisibility {
  readonly #visibility: SyncVisibility;
  readonly #pending = new Map<string, { events: RoomEventInfo[]; done: Promise<ReadonlySet<string>> }>();

  constructor(visibility: SyncVisibility) {
    this.#visibility = visibility;
  }

  async filterEventsForUser(userId: string, events: readonly RoomEventInfo[]): Promise<RoomEventInfo[]> {
    if (events.length === 0) return [];
    let batch = this.#pending.get(userId);
    if (batch === undefined) {
      const created = { events: [] as RoomEventInfo[], done: undefined as unknown as Promise<ReadonlySet<string>> };
      created.done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#pending.delete(userId);
        const visible = await this.#visibility.filterEventsForUser(userId, created.events);
        return new Set(visible.map((e) => e.event.eventId));
      });
      this.#pending.set(userId, created);
      batch = created;
    }
    batch.events.push(...events);
    const visible = await batch.done;
    return events.filter((e) => visible.has(e.event.eventId));
  }
}

/**
 * fn over every item, at most `limit` at a time, results in order. Many reads in flight at once
 * queue on the database connection's lock, and each release wakes every waiter (SQLite through
 * Kysely): a few hundred at once cost far more than the reads.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
