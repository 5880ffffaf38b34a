// A room's queue: its inputs are processed strictly in order, in batches. A batch's events are
// checked one after another against the room as the batch leaves it, then persisted in one
// transaction; only then do their promises resolve and their outputs go out. Rooms have a worker
// each and run in parallel.
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import { StateSnapshot } from "../../storage/stores/state-snapshot.ts";
import { Batch, loadKnownEvents, snapshotOf } from "./batch.ts";
import type { EngineDeps, PendingResult, RoomCache } from "./batch.ts";
import { prepareBatch, prepareInput, processEvent } from "./process-event.ts";
import type { PreparedInput, WorkItem } from "./process-event.ts";
import type { InputResult, RoomserverOutput } from "./types.ts";

export interface QueuedItem {
  readonly item: WorkItem;
  /**
   * Inputs queued together under one group are one batch of their own, stored all together or not
   * at all: one refused (or a duplicate of a stored event) refuses them all, with its result.
   */
  readonly group?: object;
  /** Steps 1-2 started when it was queued (received events of a room already loaded). */
  prepared?: PreparedInput;
  readonly resolve: (result: InputResult) => void;
  readonly reject: (err: unknown) => void;
}

export class RoomWorker {
  readonly roomId: string;
  readonly #deps: EngineDeps;
  readonly #maxBatch: number;
  readonly #emit: (outputs: readonly RoomserverOutput[]) => void;
  readonly #queue: QueuedItem[] = [];
  #room: RoomCache | undefined;
  #running: Promise<void> = Promise.resolve();
  #active = false;
  #batch: Promise<void> | undefined;

  constructor(roomId: string, deps: EngineDeps, maxBatch: number, emit: (outputs: readonly RoomserverOutput[]) => void) {
    this.roomId = roomId;
    this.#deps = deps;
    this.#maxBatch = maxBatch;
    this.#emit = emit;
  }

  get busy(): boolean {
    return this.#active;
  }

  /**
   * Settles when the batch being processed now (if any) has ended: its write transaction, the only
   * place room stream positions are taken, has committed or rolled back.
   */
  get batchInFlight(): Promise<void> {
    return this.#batch ?? Promise.resolve();
  }

  /** Settles when the queue is empty. */
  get idle(): Promise<void> {
    return this.#active ? this.#running : Promise.resolve();
  }

  /** The committed room, loading it if need be. */
  async room(): Promise<RoomCache> {
    this.#room ??= await this.#loadRoom();
    return this.#room;
  }

  enqueue(queued: QueuedItem): void {
    // Verifying signatures as events arrive overlaps it with the batches ahead of them.
    const room = this.#room;
    if (room?.version !== undefined && this.#active) {
      queued.prepared = prepareInput(queued.item, room.version, this.roomId, this.#deps.keyRing);
    }
    this.#queue.push(queued);
    if (this.#active) return;
    this.#active = true;
    this.#running = this.#run();
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        // A turn of the event loop first, so that the requests that arrived meanwhile reach the
        // queue and share this batch's commit. SQLite commits synchronously, holding the loop (and
        // syncs a lone input's commit the same way): without the turn, every input of a busy room
        // would find the queue empty and pay a commit of its own.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#queue.length === 0) break;
        const batch = this.#queue.splice(0, batchLength(this.#queue, this.#maxBatch));
        const processing = this.#processBatch(batch);
        this.#batch = processing.catch(() => undefined);
        try {
          await processing;
        } finally {
          this.#batch = undefined;
        }
      }
    } finally {
      // Cleared in the same step as the last look at the queue, so that no input is left behind.
      this.#active = false;
    }
  }

  async #processBatch(queued: readonly QueuedItem[]): Promise<void> {
    let batch: Batch;
    try {
      batch = new Batch(this.#deps, await this.room());
    } catch (err) {
      for (const q of queued) q.reject(err);
      return;
    }
    const settled: Array<{ queued: QueuedItem; result: PendingResult }> = [];
    let validated: Map<WorkItem, PreparedInput>;
    try {
      validated = await prepareBatch(batch, queued);
    } catch (err) {
      for (const q of queued) q.reject(err);
      return;
    }
    const grouped = queued[0]?.group !== undefined;
    for (const q of queued) {
      try {
        settled.push({ queued: q, result: await processEvent(batch, q.item, validated.get(q.item)) });
      } catch (err) {
        // A bug or a failed read: this input fails, the batch (untouched by it) goes on.
        this.#deps.logger?.error({ err, roomId: this.roomId }, "roomserver: input failed");
        if (grouped) {
          for (const other of queued) other.reject(err);
          return;
        }
        q.reject(err);
      }
    }
    if (grouped) {
      const refusal = groupRefusal(settled.map((s) => s.result(new Map())));
      if (refusal !== undefined) {
        for (const q of queued) q.resolve(refusal);
        return;
      }
    }
    if (!batch.hasWrites) {
      for (const { queued: q, result } of settled) q.resolve(result(new Map()));
      return;
    }
    let positions: ReadonlyMap<string, number>;
    try {
      const written = await this.#deps.store.persist({
        roomId: this.roomId,
        roomVersion: (batch.version ?? batch.room.version)?.id ?? "1",
        events: batch.records,
        stream: batch.stream,
        forwardExtremities: extremityChanges(batch.room.extremities, batch.extremities),
        currentState: batch.currentStateChanged ? batch.currentState : undefined,
        applyRedactions: batch.applyRedactions,
        pendingRedactions: batch.newPendingRedactions,
        settledRedactions: batch.settledRedactions,
        transactions: batch.transactions,
        now: this.#deps.now(),
        // Several senders at once: their next requests come in while this batch's commit syncs.
        syncInBackground: queued.length > 1 || this.#queue.length > 0,
      });
      positions = written.streamOrderings;
    } catch (err) {
      // What is committed is unsure (a lost connection after COMMIT): reload the room next time.
      this.#room = undefined;
      this.#deps.store.state.clearCache();
      if (settled.length > 1 && !grouped) {
        this.#deps.logger?.warn({ err, roomId: this.roomId, events: queued.length }, "roomserver: batch failed, retrying its inputs one by one");
        for (const { queued: q } of settled) await this.#processBatch([q]);
      } else {
        for (const { queued: q } of settled) q.reject(err);
      }
      return;
    }
    this.#committed(batch, positions);
    for (const { queued: q, result } of settled) q.resolve(result(positions));
    const outputs: RoomserverOutput[] = [];
    for (const make of batch.outputs) {
      const output = make(positions);
      if (output !== undefined) outputs.push(output);
    }
    this.#emit(outputs);
  }

  #committed(batch: Batch, positions: ReadonlyMap<string, number>): void {
    for (const [id, known] of batch.events) {
      const position = positions.get(id);
      this.#deps.cache.set(position === undefined ? known : { ...known, streamOrdering: position });
    }
    this.#room = {
      roomId: this.roomId,
      stored: true,
      version: batch.version ?? batch.room.version,
      extremities: batch.extremities,
      currentState: batch.currentState,
      pendingRedactions: batch.pendingRedactions,
    };
  }

  async #loadRoom(): Promise<RoomCache> {
    const deps = this.#deps;
    const stored = await deps.store.getRoom(this.roomId);
    if (stored === undefined) {
      return { roomId: this.roomId, stored: false, version: undefined, extremities: new Map(), currentState: StateSnapshot.empty(), pendingRedactions: new Map() };
    }
    const version = getRoomVersion(stored.roomVersion);
    if (version === undefined) throw new Error(`room ${this.roomId} has unsupported version ${stored.roomVersion}`);
    const currentState = (await snapshotOf(deps, stored.currentStateGroup ?? undefined)) ?? StateSnapshot.empty();
    const ids = await deps.store.forwardExtremities(this.roomId);
    const known = await loadKnownEvents(deps, ids);
    const extremities = new Map(ids.map((id) => [id, known.get(id)?.event.depth ?? 0]));
    return { roomId: this.roomId, stored: true, version, extremities, currentState, pendingRedactions: await deps.store.pendingRedactions(this.roomId) };
  }
}

/** How many inputs at the head of the queue go in the next batch: a group whole and alone, else up to the next group. */
function batchLength(queue: readonly QueuedItem[], maxBatch: number): number {
  const group = queue[0]?.group;
  let n = 1;
  if (group !== undefined) {
    while (n < queue.length && queue[n]?.group === group) n++;
    return n;
  }
  while (n < queue.length && n < maxBatch && queue[n]?.group === undefined) n++;
  return n;
}

/** Why a group is refused, as the result of each of its inputs: the first refusal, or a stored event met again. */
function groupRefusal(results: readonly InputResult[]): InputResult | undefined {
  for (const result of results) {
    if (result.outcome === "refused") return result;
    if (result.outcome !== "accepted") return { outcome: "refused", eventId: result.eventId, reason: `the event would be ${result.outcome.replace("_", " ")}: ${result.reason}` };
    if (result.duplicate) return { outcome: "refused", eventId: result.eventId, reason: "the event is stored already" };
  }
  return undefined;
}

function extremityChanges(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): { added: string[]; removed: string[] } | undefined {
  // Pushed, not filtered: packed arrays for #persist (see core/packed-map.ts).
  const added: string[] = [];
  const removed: string[] = [];
  for (const id of after.keys()) if (!before.has(id)) added.push(id);
  for (const id of before.keys()) if (!after.has(id)) removed.push(id);
  return added.length === 0 && removed.length === 0 ? undefined : { added, removed };
}
