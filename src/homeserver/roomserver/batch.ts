// The room as one batch of inputs sees it while they are checked: the committed room (its cache)
// with the batch's own events and changes layered on top. Nothing here reaches the committed
// caches until the batch's transaction has committed (room-worker.ts).
import type { StateMap } from "../../core/events/room-event.ts";
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { StateResolutionSource } from "../../core/state-res/index.ts";
import type { Database } from "../../storage/database.ts";
import type { EventRecord, EventStore } from "../../storage/stores/events.ts";
import type { EventTransaction } from "../../storage/stores/transactions.ts";
import { StateSnapshot } from "../../storage/stores/state-snapshot.ts";
import { authEventIdsOf } from "./checks/auth-events.ts";
import type { KeyRing } from "./keyring.ts";
import type { EventCache, KnownEvent } from "./known-event.ts";
import { knownFromStored } from "./known-event.ts";
import type { Signer } from "./local-event.ts";
import type { InputResult, RoomserverOutput } from "./types.ts";

export interface RoomserverLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the pipeline's steps share: storage, the committed event cache, keys, the clock. */
export interface EngineDeps {
  readonly db: Database;
  readonly store: EventStore;
  readonly cache: EventCache;
  readonly keyRing: KeyRing;
  readonly signer: Signer;
  readonly now: () => number;
  readonly logger: RoomserverLogger | undefined;
}

/** A room as committed: what the worker keeps between batches. */
export interface RoomCache {
  readonly roomId: string;
  /** The room has a row (some event of it is stored). */
  readonly stored: boolean;
  readonly version: RoomVersion | undefined;
  /** Forward extremities: event ID -> depth. */
  readonly extremities: ReadonlyMap<string, number>;
  /** The resolved state across the forward extremities. */
  readonly currentState: StateSnapshot;
  /** Redactions waiting for their target: target ID -> redaction IDs. */
  readonly pendingRedactions: ReadonlyMap<string, readonly string[]>;
}

/** Loads an event's state snapshot (before or after it), loading its group if need be. */
export async function snapshotOf(deps: EngineDeps, value: StateSnapshot | number | undefined): Promise<StateSnapshot | undefined> {
  if (value === undefined || value instanceof StateSnapshot) return value;
  return (await deps.store.state.loadSnapshots([value])).get(value);
}

/** Committed events by ID: the cache, then the database. */
export async function loadKnownEvents(deps: EngineDeps, ids: readonly string[]): Promise<Map<string, KnownEvent>> {
  const out = new Map<string, KnownEvent>();
  const missing: string[] = [];
  for (const id of ids) {
    const cached = deps.cache.get(id);
    if (cached !== undefined) out.set(id, cached);
    else missing.push(id);
  }
  if (missing.length > 0) {
    for (const stored of (await deps.store.getEvents(missing)).values()) {
      const known = knownFromStored(stored);
      deps.cache.set(known);
      out.set(stored.eventId, known);
    }
  }
  return out;
}

/** An output to deliver after commit, once stream positions are known. */
export type PendingOutput = (streamOrderings: ReadonlyMap<string, number>) => RoomserverOutput | undefined;

/** An input's result, completed with its stream position after commit. */
export type PendingResult = (streamOrderings: ReadonlyMap<string, number>) => InputResult;

export class Batch {
  readonly deps: EngineDeps;
  readonly room: RoomCache;
  version: RoomVersion | undefined;
  extremities: Map<string, number>;
  currentState: StateSnapshot;
  currentStateChanged = false;
  readonly pendingRedactions: Map<string, string[]>;
  /** Events stored or changed by this batch (a redacted target too), by ID. */
  readonly events = new Map<string, KnownEvent>();
  readonly records: EventRecord[] = [];
  readonly stream: string[] = [];
  readonly applyRedactions: Array<{ redactionId: string; targetId: string }> = [];
  readonly newPendingRedactions: Array<{ redactionId: string; redacts: string }> = [];
  readonly settledRedactions: string[] = [];
  /** The transaction IDs of the batch's accepted local events, stored with them. */
  readonly transactions: EventTransaction[] = [];
  readonly outputs: PendingOutput[] = [];
  /** Local events built in this batch. */
  readonly local = new Set<string>();
  readonly #absent = new Set<string>();
  /**
   * Committed events this batch has read (from the shared cache or the database), so that its
   * inputs' checks, which ask for the same few auth events over and over, find them here. This
   * batch's own changes to them are in `events`, which is looked at first.
   */
  readonly #read = new Map<string, KnownEvent>();
  /** Events whose rows this batch inserts (not yet in the database, so not in its auth chain index). */
  readonly inserted = new Set<string>();

  constructor(deps: EngineDeps, room: RoomCache) {
    this.deps = deps;
    this.room = room;
    this.version = room.version;
    this.extremities = new Map(room.extremities);
    this.currentState = room.currentState;
    this.pendingRedactions = new Map([...room.pendingRedactions].map(([k, v]) => [k, [...v]]));
  }

  get hasWrites(): boolean {
    return this.records.length > 0 || this.applyRedactions.length > 0 || this.settledRedactions.length > 0;
  }

  async getEvents(ids: readonly string[]): Promise<Map<string, KnownEvent>> {
    const out = new Map<string, KnownEvent>();
    let rest: string[] | undefined;
    for (const id of ids) {
      const known = this.events.get(id) ?? this.#read.get(id);
      if (known !== undefined) out.set(id, known);
      else if (!this.#absent.has(id) && !out.has(id)) (rest ??= []).push(id);
    }
    if (rest !== undefined) {
      for (const [id, known] of await loadKnownEvents(this.deps, rest)) {
        out.set(id, known);
        this.#read.set(id, known);
      }
    }
    return out;
  }

  /**
   * The events among `ids`, when each is known without a read: this batch's, read by it already, or
   * known not to be stored. Undefined when some must be loaded (getEvents then). The checks ask
   * this first, to save a promise per question in the usual case.
   */
  loaded(ids: readonly string[]): Map<string, KnownEvent> | undefined {
    const out = new Map<string, KnownEvent>();
    for (const id of ids) {
      const known = this.events.get(id) ?? this.#read.get(id);
      if (known !== undefined) out.set(id, known);
      else if (!this.#absent.has(id)) return undefined;
    }
    return out;
  }

  /** The event when this batch, its reads or the committed cache hold it; no read. */
  inMemory(id: string): KnownEvent | undefined {
    return this.events.get(id) ?? this.#read.get(id) ?? this.deps.cache.get(id);
  }

  /**
   * Loads these events in one read, and remembers which are not stored, so the checks of the
   * batch's inputs do not each ask the database again (an event of the room can only be stored
   * by this batch, which holds it in `events`).
   */
  async prefetch(ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.events.has(id) && !this.#read.has(id) && !this.#absent.has(id));
    const found = await loadKnownEvents(this.deps, wanted);
    for (const id of wanted) {
      const known = found.get(id);
      if (known === undefined) this.#absent.add(id);
      else this.#read.set(id, known);
    }
  }

  async stateAfter(known: KnownEvent): Promise<StateSnapshot | undefined> {
    return await snapshotOf(this.deps, known.stateAfter);
  }

  /** The snapshot of a full state given as a map (a state supplied with an input). */
  snapshotOfMap(state: StateMap): StateSnapshot {
    return this.currentState.become(state);
  }

  /**
   * What state resolution reads: this batch's events over the committed ones, and the auth chain
   * index. `candidate` is the event being checked, not in the batch yet, when it must be seen.
   */
  source(candidate?: KnownEvent): StateResolutionSource {
    const candidateId = candidate?.event.eventId;
    const lookup = async (ids: readonly string[]): Promise<Map<string, KnownEvent>> => {
      const out = await this.getEvents(ids.filter((id) => id !== candidateId));
      if (candidate !== undefined && candidateId !== undefined && ids.includes(candidateId)) out.set(candidateId, candidate);
      return out;
    };
    const pending = (id: string): KnownEvent | undefined => (id === candidateId ? candidate : this.inserted.has(id) ? this.events.get(id) : undefined);
    return {
      fetchEvents: async (ids) => {
        const out = new Map<string, RoomEvent>();
        for (const [id, known] of await lookup(ids)) out.set(id, known.event);
        return out;
      },
      authChain: async (ids) => {
        // The batch's own events are not in the database's index yet: walk them here.
        const chain = new Set<string>();
        const committed: string[] = [];
        const stack: string[] = [];
        for (const id of ids) {
          if (pending(id) !== undefined) stack.push(id);
          else committed.push(id);
        }
        const walked = new Set<string>();
        while (stack.length > 0) {
          const id = stack.pop() as string;
          if (walked.has(id)) continue;
          walked.add(id);
          const known = pending(id);
          if (known === undefined) continue;
          for (const a of authEventIdsOf(known.event)) {
            chain.add(a);
            if (pending(a) !== undefined) stack.push(a);
            else committed.push(a);
          }
        }
        for (const id of await this.deps.store.authChain(committed)) chain.add(id);
        return chain;
      },
      rejectedEvents: async (ids) => {
        const out = new Set<string>();
        for (const [id, known] of await lookup(ids)) if (known.rejectedReason !== undefined) out.add(id);
        return out;
      },
    };
  }
}
