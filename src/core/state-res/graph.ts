// The auth event graph as far as one resolution needs it: every event ID met gets an integer index,
// fetched events are cached, and auth edges are kept as index arrays for the hot loops.
import type { RoomEvent } from "../events/room-event.ts";
import { createEventIdOfRoom } from "../events/room-id.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import type { StateResolutionSource } from "./source.ts";

const UNREQUESTED = 0;
const LOADED = 1;
const MISSING = 2;

const NO_EDGES: readonly number[] = [];

/**
 * The ID of the create event of a room whose ID is derived from it (rooms/v12.md: the room ID is the
 * create event's ID with `!` for its sigil), or undefined in other room versions.
 */
export function impliedCreateEventId(event: RoomEvent, version: RoomVersion): string | undefined {
  if (!version.roomIdFromCreateEvent || event.type === "m.room.create") return undefined;
  const roomId = event.roomId;
  if (typeof roomId !== "string" || !roomId.startsWith("!") || roomId.length < 2) return undefined;
  return createEventIdOfRoom(roomId);
}

export class EventGraph {
  readonly version: RoomVersion;
  readonly #source: StateResolutionSource;
  readonly #index = new Map<string, number>();
  readonly #ids: string[] = [];
  readonly #events: (RoomEvent | undefined)[] = [];
  readonly #status: number[] = [];
  readonly #edges: (readonly number[])[] = [];
  readonly #mark: number[] = [];
  #epoch = 0;
  /** Whether the last authFirstOrder met an auth cycle (then one pass over its order is not enough). */
  lastOrderHadCycle = false;

  constructor(source: StateResolutionSource, version: RoomVersion) {
    this.#source = source;
    this.version = version;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** The index of an event ID, creating it (unfetched) when first met. */
  intern(eventId: string): number {
    let i = this.#index.get(eventId);
    if (i === undefined) {
      i = this.#ids.length;
      this.#index.set(eventId, i);
      this.#ids.push(eventId);
      this.#events.push(undefined);
      this.#status.push(UNREQUESTED);
      this.#edges.push(NO_EDGES);
      this.#mark.push(0);
    }
    return i;
  }

  indexOf(eventId: string): number | undefined {
    return this.#index.get(eventId);
  }

  idOf(i: number): string {
    return this.#ids[i] as string;
  }

  /** The event at an index, or undefined when it was not (or could not be) fetched. */
  event(i: number): RoomEvent | undefined {
    return this.#events[i];
  }

  eventById(eventId: string): RoomEvent | undefined {
    const i = this.#index.get(eventId);
    return i === undefined ? undefined : this.#events[i];
  }

  isLoaded(i: number): boolean {
    return this.#status[i] === LOADED;
  }

  /**
   * Indices of the event's auth events, without duplicates. In room versions whose room ID names
   * the create event, the create event is implied and added (rooms/v12.md: it is never listed).
   */
  edges(i: number): readonly number[] {
    return this.#edges[i] as readonly number[];
  }

  /** Fetches, in one batch, those of these events not asked for yet. */
  async load(eventIds: Iterable<string>): Promise<void> {
    const wanted: number[] = [];
    for (const id of eventIds) {
      const i = this.intern(id);
      if (this.#status[i] === UNREQUESTED) {
        this.#status[i] = MISSING; // until the answer says otherwise; also dedupes this batch
        wanted.push(i);
      }
    }
    await this.#fetch(wanted);
  }

  async loadIndices(indices: Iterable<number>): Promise<void> {
    const wanted: number[] = [];
    for (const i of indices) {
      if (this.#status[i] === UNREQUESTED) {
        this.#status[i] = MISSING;
        wanted.push(i);
      }
    }
    await this.#fetch(wanted);
  }

  async #fetch(wanted: number[]): Promise<void> {
    if (wanted.length === 0) return;
    const ids = wanted.map((i) => this.#ids[i] as string);
    const answer = await this.#source.fetchEvents(ids);
    for (const i of wanted) {
      const id = this.#ids[i] as string;
      const event = answer.get(id);
      // An answer that is not the event asked for counts as missing.
      if (event === undefined || event.eventId !== id) continue;
      this.#events[i] = event;
      this.#status[i] = LOADED;
      this.#edges[i] = this.#authEdges(event);
    }
  }

  #authEdges(event: RoomEvent): readonly number[] {
    const out: number[] = [];
    const authIds = Array.isArray(event.authEventIds) ? event.authEventIds : [];
    for (const id of authIds) {
      if (typeof id !== "string" || id === event.eventId) continue;
      const j = this.intern(id);
      if (!out.includes(j)) out.push(j);
    }
    const createId = impliedCreateEventId(event, this.version);
    if (createId !== undefined && createId !== event.eventId) {
      const j = this.intern(createId);
      if (!out.includes(j)) out.push(j);
    }
    return out.length === 0 ? NO_EDGES : out;
  }

  /** Fetches everything reachable from these events through auth edges, one batch per level. */
  async loadClosure(roots: Iterable<number>): Promise<void> {
    const epoch = ++this.#epoch;
    let frontier: number[] = [];
    for (const r of roots) {
      if (this.#mark[r] !== epoch) {
        this.#mark[r] = epoch;
        frontier.push(r);
      }
    }
    while (frontier.length > 0) {
      await this.loadIndices(frontier);
      const next: number[] = [];
      for (const i of frontier) {
        for (const j of this.#edges[i] as readonly number[]) {
          if (this.#mark[j] !== epoch) {
            this.#mark[j] = epoch;
            next.push(j);
          }
        }
      }
      frontier = next;
    }
  }

  /**
   * The nodes reachable from `roots` (all nodes when omitted), each after all of its auth events:
   * a depth-first post-order. Cycles, impossible with hashed event IDs but forgeable in v1-v2, are
   * cut where they close instead of looping (and lastOrderHadCycle is set).
   */
  authFirstOrder(roots?: Iterable<number>): Int32Array {
    this.lastOrderHadCycle = false;
    const n = this.#ids.length;
    const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
    const order = new Int32Array(n);
    let count = 0;
    const stackNode = new Int32Array(n);
    const stackPos = new Int32Array(n);
    const visit = (root: number): void => {
      if (state[root] !== 0) return;
      let top = 0;
      stackNode[0] = root;
      stackPos[0] = 0;
      state[root] = 1;
      while (top >= 0) {
        const node = stackNode[top] as number;
        const edges = this.#edges[node] as readonly number[];
        const pos = stackPos[top] as number;
        if (pos < edges.length) {
          stackPos[top] = pos + 1;
          const next = edges[pos] as number;
          if (state[next] === 0) {
            state[next] = 1;
            top++;
            stackNode[top] = next;
            stackPos[top] = 0;
          } else if (state[next] === 1) {
            this.lastOrderHadCycle = true;
          }
        } else {
          state[node] = 2;
          order[count++] = node;
          top--;
        }
      }
    };
    if (roots === undefined) {
      for (let i = 0; i < n; i++) visit(i);
    } else {
      for (const r of roots) visit(r);
    }
    return order.subarray(0, count);
  }
}
