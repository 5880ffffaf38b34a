// The relations index's writer: a consumer of the room engine's outputs (ARCHITECTURE.md "One event
// pipeline") that records each timeline event's relation and forgets it when the child is redacted
// (client-server-api#aggregations-of-child-events: "when a child event is redacted then the
// relationship is broken"). Outputs are heard after commit, so a crash can lose the last few: at
// start it reads the room stream from the position it stored, and live outputs heard meanwhile wait.
import type { RoomEvent } from "../../../core/events/room-event.ts";
import type { RelationRow, RelationStore, RelationsWrite } from "../../../storage/stores/relations.ts";
import type { Roomserver, RoomserverOutput } from "../../roomserver/index.ts";
import { REL_THREAD, relationOf } from "./relation.ts";

export interface IndexerLogger {
  error(obj: object, msg: string): void;
}

export interface IndexerDeps {
  readonly roomserver: Roomserver;
  readonly store: RelationStore;
  /** The room stream across rooms after a position (the events store's catch-up read). */
  readonly streamSince: (position: number, limit: number) => Promise<ReadonlyArray<{ readonly streamOrdering: number; readonly eventId: string }>>;
  readonly logger?: IndexerLogger;
}

/** Positions read without a relation to write are stored every this many events. */
const POSITION_EVERY = 1000;
const CATCH_UP_PAGE = 500;

type Item =
  | { readonly kind: "event"; readonly event: RoomEvent; readonly streamOrdering: number }
  | { readonly kind: "redacted"; readonly eventId: string };

export class RelationsIndexer {
  readonly #deps: IndexerDeps;
  #pending: Item[] = [];
  #position = 0;
  #storedPosition = 0;
  /**
   * Set once a write failed: the stored position is held there for the rest of the process, so that
   * the next start reads the lost items again (their rows are written idempotently).
   */
  #heldAt: number | undefined;
  #live = false;
  #running: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #started: Promise<void> | undefined;

  constructor(deps: IndexerDeps) {
    this.#deps = deps;
  }

  /** Subscribes, then catches up with what was committed since the stored position. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    this.#unsubscribe = this.#deps.roomserver.subscribe((output) => this.#hear(output));
    this.#position = this.#storedPosition = await this.#deps.store.position();
    for (;;) {
      const entries = await this.#deps.streamSince(this.#position, CATCH_UP_PAGE);
      if (entries.length === 0) break;
      const items: Item[] = [];
      for (const entry of entries) {
        const info = await this.#deps.roomserver.getEvent(entry.eventId);
        if (info !== undefined) items.push({ kind: "event", event: info.event, streamOrdering: entry.streamOrdering });
      }
      await this.#apply(items, entries[entries.length - 1]?.streamOrdering ?? this.#position, true);
    }
    this.#live = true;
    this.#drain();
  }

  /**
   * Indexes events that joined the timeline through backfill: no output tells of them (they are
   * history, placed below the live positions), so the backfiller hands them here. A crash before
   * this leaves their relations out of the index (the catch-up reads live positions only).
   */
  async indexBackfilled(entries: ReadonlyArray<{ readonly event: RoomEvent; readonly streamOrdering: number }>): Promise<void> {
    await this.start();
    const items: Item[] = entries.map((e) => ({ kind: "event", event: e.event, streamOrdering: e.streamOrdering }));
    // In the queue with the live outputs, which keep the position: these are all below it.
    const run = this.#running.then(() => this.#apply(items, this.#position, false));
    this.#running = run.catch((err: unknown) => this.#deps.logger?.error({ err }, "relations index: a write of backfilled events failed"));
    await run;
  }

  /** Resolves once every output heard so far is in the index (read-your-writes for senders). */
  async settled(): Promise<void> {
    await this.start();
    for (;;) {
      const running = this.#running;
      await running;
      if (running === this.#running && this.#pending.length === 0) return;
    }
  }

  /**
   * Resolves once every output heard before the call is in the index: readers of relations wait
   * for it, so an event a client was just given (by /sync or /send) is found among its parent's
   * relations. Unlike `settled`, outputs heard later are not waited for.
   */
  async caughtUp(): Promise<void> {
    await this.start();
    if (this.#pending.length > 0) this.#drain();
    await this.#running;
  }

  /** Stops listening, writes what is pending and the position. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#live) {
      await this.settled();
      const position = this.#heldAt === undefined ? this.#position : Math.min(this.#position, this.#heldAt);
      if (position > this.#storedPosition) await this.#write({ add: [], threadRoots: [], remove: [], position });
    }
  }

  #hear(output: RoomserverOutput): void {
    if (output.kind === "new_room_event") this.#pending.push({ kind: "event", event: output.event, streamOrdering: output.streamOrdering });
    else this.#pending.push({ kind: "redacted", eventId: output.redactedEventId });
    if (this.#live) this.#drain();
  }

  #drain(): void {
    this.#running = this.#running.then(async () => {
      if (this.#pending.length === 0) return;
      const items = this.#pending;
      this.#pending = [];
      // Outputs heard during the catch-up may have been read by it already.
      const fresh = items.filter((i) => i.kind === "redacted" || i.streamOrdering > this.#position);
      const position = Math.max(this.#position, ...fresh.map((i) => (i.kind === "event" ? i.streamOrdering : 0)));
      const before = this.#storedPosition;
      try {
        await this.#apply(fresh, position, false);
      } catch (err) {
        // The stored position stays behind these from now on: the next start reads them again.
        this.#heldAt ??= before;
        this.#deps.logger?.error({ err }, "relations index: a write failed");
      }
    });
  }

  async #apply(items: readonly Item[], position: number, catchingUp: boolean): Promise<void> {
    const add: RelationRow[] = [];
    const remove: string[] = [];
    const roots = new Map<string, { threadId: string; roomId: string; sender: string | undefined }>();
    for (const item of items) {
      if (item.kind === "redacted") {
        remove.push(item.eventId);
        continue;
      }
      const event = item.event;
      const relation = relationOf(event.content);
      if (relation !== undefined) {
        add.push({
          eventId: event.eventId,
          roomId: event.roomId,
          relatesToId: relation.eventId,
          relType: relation.relType,
          eventType: event.type,
          sender: event.sender,
          key: relation.key,
          streamOrdering: item.streamOrdering,
          originServerTs: event.originServerTs,
        });
        if (relation.relType === REL_THREAD && !roots.has(relation.eventId)) {
          const root = await this.#deps.roomserver.getEvent(relation.eventId);
          roots.set(relation.eventId, { threadId: relation.eventId, roomId: event.roomId, sender: root?.event.sender });
        }
      }
      // A redaction read back from the stream: its target may have been redacted while no one listened.
      if (catchingUp && event.type === "m.room.redaction" && event.redacts !== undefined) {
        const target = await this.#deps.roomserver.getEvent(event.redacts);
        if (target?.redactedBy !== undefined) remove.push(event.redacts);
      }
    }
    // A child redacted in the same stretch as it was indexed stays out.
    const removed = new Set(remove);
    const stored = this.#heldAt === undefined ? position : Math.min(position, this.#heldAt);
    const write: RelationsWrite = { add: add.filter((r) => !removed.has(r.eventId)), threadRoots: [...roots.values()], remove, position: stored };
    this.#position = position;
    if (write.add.length > 0 || write.remove.length > 0 || stored - this.#storedPosition >= POSITION_EVERY) await this.#write(write);
  }

  async #write(write: RelationsWrite): Promise<void> {
    await this.#deps.store.write(write);
    this.#storedPosition = Math.max(this.#storedPosition, write.position);
  }
}
