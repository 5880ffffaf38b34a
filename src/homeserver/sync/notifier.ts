// The notifier (ARCHITECTURE.md "Streams and a notifier that carries positions only"): writers
// say "stream S reached position P, and it concerns these users and rooms"; long-polling /sync
// requests (client-server-api#get_matrixclientv3sync, `timeout`) wait until something at a
// position after their `since` concerns them, then read what is new themselves.
//
// No lost wake-up: besides waking waiters, a notify is remembered as the latest position per user
// and per room, and a wait first compares its `since` with that memory. A change that lands while
// the reader was reading (after its read, before its wait) is therefore seen by the wait itself.
// The check and the registration run in one synchronous step, so no notify can fall between them.
//
// Bounded work: waiters are indexed by user and by room, so a notify touches only the waiters of
// the users and rooms it names. The memory is bounded too: when it is full the least recently
// notified user or room is forgotten, and its positions are folded into a per-stream floor that
// every later check also compares with (a forgotten change can wake a reader spuriously, never be
// missed).
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import { STREAMS, ZERO_POSITIONS, type StreamName, type StreamPositions } from "./token.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Who a change concerns. Neither given: everyone (a broadcast, which visits every waiter). */
export interface Concerns {
  readonly userIds?: Iterable<string>;
  readonly roomIds?: Iterable<string>;
}

/** Why a wait ended. */
export type WakeReason = "changed" | "timeout" | "aborted";

type Latest = Partial<Record<StreamName, number>>;

interface Waiter {
  readonly userId: string;
  readonly roomIds: readonly string[];
  readonly since: StreamPositions;
  readonly resolve: (reason: WakeReason) => void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface NotifierOptions {
  readonly clock?: Clock;
  /** How many users, and how many rooms, to remember the latest positions of. */
  readonly maxRemembered?: number;
}

// The latest position per stream of each key, least recently notified first (Map order).
class Memory {
  readonly #latest = new Map<string, Latest>();
  readonly #max: number;
  readonly #floor: Record<StreamName, number>;

  constructor(max: number, floor: Record<StreamName, number>) {
    this.#max = max;
    this.#floor = floor;
  }

  record(key: string, stream: StreamName, position: number): void {
    const latest = this.#latest.get(key) ?? {};
    this.#latest.delete(key); // re-inserted last: the most recently notified
    latest[stream] = Math.max(latest[stream] ?? 0, position);
    this.#latest.set(key, latest);
    while (this.#latest.size > this.#max) {
      const [oldest, positions] = this.#latest.entries().next().value as [string, Latest];
      this.#latest.delete(oldest);
      for (const s of STREAMS) this.#floor[s] = Math.max(this.#floor[s], positions[s] ?? 0);
    }
  }

  changedSince(key: string, since: StreamPositions): boolean {
    const latest = this.#latest.get(key);
    return latest !== undefined && STREAMS.some((s) => (latest[s] ?? 0) > since[s]);
  }

  get size(): number {
    return this.#latest.size;
  }
}

function addTo(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(waiter);
}

function removeFrom(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(waiter);
  if (set.size === 0) index.delete(key);
}

export class Notifier {
  readonly #clock: Clock;
  // Changes forgotten by the memory, and broadcasts: they concern every reader.
  readonly #floor: Record<StreamName, number> = { ...ZERO_POSITIONS };
  readonly #current: Record<StreamName, number> = { ...ZERO_POSITIONS };
  readonly #users: Memory;
  readonly #rooms: Memory;
  readonly #waitersByUser = new Map<string, Set<Waiter>>();
  readonly #waitersByRoom = new Map<string, Set<Waiter>>();
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  constructor(options: NotifierOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    const max = options.maxRemembered ?? 100_000;
    this.#users = new Memory(max, this.#floor);
    this.#rooms = new Memory(max, this.#floor);
  }

  /**
   * Stream `stream` reached `position` with a change that concerns `concerns`. Call it after the
   * change is readable (committed): a woken reader reads at once. Positions may arrive out of
   * order; each only ever raises what is remembered.
   */
  notify(stream: StreamName, position: number, concerns: Concerns = {}): void {
    this.#current[stream] = Math.max(this.#current[stream], position);
    const woken = new Set<Waiter>();
    const wake = (set: Set<Waiter> | undefined): void => {
      for (const waiter of set ?? []) if (position > waiter.since[stream]) woken.add(waiter);
    };
    if (concerns.userIds === undefined && concerns.roomIds === undefined) {
      this.#floor[stream] = Math.max(this.#floor[stream], position);
      wake(this.#waiters);
    }
    for (const userId of concerns.userIds ?? []) {
      this.#users.record(userId, stream, position);
      wake(this.#waitersByUser.get(userId));
    }
    for (const roomId of concerns.roomIds ?? []) {
      this.#rooms.record(roomId, stream, position);
      wake(this.#waitersByRoom.get(roomId));
    }
    for (const waiter of woken) this.#finish(waiter, "changed");
  }

  /**
   * Whether anything after `since` concerns the user or one of the rooms, as far as the notifier
   * knows (it may say yes for a change the reader then finds it cannot see; never no for one it can).
   */
  hasChangesSince(userId: string, roomIds: Iterable<string>, since: StreamPositions): boolean {
    if (STREAMS.some((s) => this.#floor[s] > since[s])) return true;
    if (this.#users.changedSince(userId, since)) return true;
    for (const roomId of roomIds) if (this.#rooms.changedSince(roomId, since)) return true;
    return false;
  }

  /**
   * Resolves "changed" as soon as something after `since` concerns the user or one of `roomIds`
   * (at once if that has already happened), "timeout" after `timeoutMs`, "aborted" when the signal
   * fires. Never rejects. Rooms the user joins while waiting reach it through the membership event's
   * notify, which names the user.
   */
  waitForChanges(
    userId: string,
    roomIds: Iterable<string>,
    since: StreamPositions,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WakeReason> {
    const rooms = [...new Set(roomIds)];
    if (signal?.aborted || this.#closed) return Promise.resolve("aborted");
    if (this.hasChangesSince(userId, rooms, since)) return Promise.resolve("changed");
    if (!(timeoutMs > 0)) return Promise.resolve("timeout");
    return new Promise<WakeReason>((resolve) => {
      const waiter: Waiter = { userId, roomIds: rooms, since, resolve, timer: undefined, signal, onAbort: undefined };
      this.#waiters.add(waiter);
      addTo(this.#waitersByUser, userId, waiter);
      for (const roomId of rooms) addTo(this.#waitersByRoom, roomId, waiter);
      // Timers cannot wait longer than 2^31-1 ms (Node fires at once instead); nobody should.
      waiter.timer = this.#clock.setTimeout(() => this.#finish(waiter, "timeout"), Math.min(timeoutMs, MAX_TIMER_MS));
      if (signal !== undefined) {
        waiter.onAbort = () => this.#finish(waiter, "aborted");
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
    });
  }

  /**
   * Ends every wait now ("aborted") and every later one at once: a server shutting down answers its
   * long-polls instead of holding them until they time out.
   */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#finish(waiter, "aborted");
  }

  // Takes the waiter out of every index, cancels its timer and abort listener, then resolves it.
  #finish(waiter: Waiter, reason: WakeReason): void {
    if (!this.#waiters.delete(waiter)) return; // already finished
    removeFrom(this.#waitersByUser, waiter.userId, waiter);
    for (const roomId of waiter.roomIds) removeFrom(this.#waitersByRoom, roomId, waiter);
    if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(reason);
  }

  /** The highest position notified on each stream. */
  currentPositions(): StreamPositions {
    return Object.freeze({ ...this.#current });
  }

  /** Sizes, for metrics and for tests that check nothing is left behind. */
  stats(): { waiters: number; indexedUsers: number; indexedRooms: number; rememberedUsers: number; rememberedRooms: number } {
    return {
      waiters: this.#waiters.size,
      indexedUsers: this.#waitersByUser.size,
      indexedRooms: this.#waitersByRoom.size,
      rememberedUsers: this.#users.size,
      rememberedRooms: this.#rooms.size,
    };
  }
}
