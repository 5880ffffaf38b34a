// The search index's writer: a consumer of the room engine's outputs (ARCHITECTURE.md "One event
// pipeline"), off the send path. Only timeline events reach it (the room stream holds no rejected,
// soft-failed or outlier event), each indexed when it has searchable text (searchable.ts) and
// removed once redacted, since a redacted event must never be found (its text is gone).
//
// Outputs are only noted when heard; they are written together a moment later, in one transaction
// (the send path pays no write for them, and under load many events share one commit). A search
// first asks for what was heard to be written (`settled`), so a sender finds what they just sent.
//
// Outputs are heard after commit, so a crash can lose the last few: at start the indexer reads the
// room stream from the position it stored (from the very start on the first run, backfilled history
// included, so the events stored before the index existed are indexed), in the background, while
// the live outputs heard meanwhile wait. An event read both ways is indexed once.
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { SearchEntry, SearchIndexWrite, SearchStore } from "../../storage/stores/search.ts";
import { STREAM_START } from "../events/timeline.ts";
import type { RoomEventInfo, RoomserverOutput } from "../roomserver/index.ts";
import { INDEXED_TYPES, searchEntryOf } from "./searchable.ts";

export interface SearchIndexerDeps {
  readonly roomserver: {
    subscribe(listener: (output: RoomserverOutput) => void): () => void;
    getEvent(eventId: string): Promise<RoomEventInfo | undefined>;
  };
  readonly store: Pick<SearchStore, "position" | "write">;
  /** The room stream across rooms after a position (the events store's catch-up read). */
  readonly streamSince: (
    position: number,
    limit: number,
  ) => Promise<ReadonlyArray<{ readonly streamOrdering: number; readonly eventId: string; readonly type: string }>>;
  readonly logger?: { error(obj: object, msg: string): void };
  /** How long heard outputs wait to be written together (default 1 s). */
  readonly flushDelayMs?: number;
}

/** The position is stored at least every this many stream positions, even with nothing to index. */
const POSITION_EVERY = 1000;
const CATCH_UP_PAGE = 500;
// A second: searches flush what waits themselves (settled), so the delay only batches the writes,
// each a transaction and a new FTS5 segment; at 100 ms the index cost a busy room's sends 5-10% of
// their CPU (sync benchmark). A burst past MAX_PENDING is written at once.
const DEFAULT_FLUSH_DELAY_MS = 1000;
const MAX_PENDING = 2000;
// Entries written in one transaction, at most: a second of a busy room (1,500 messages) written at
// once held the event loop for 13-18 ms (FTS5 costs about 25 us a row on a 2-core VM), which every
// request waiting behind it paid; in chunks, with a turn of the event loop between them, a few ms.
const WRITE_CHUNK = 256;

type Item =
  | { readonly kind: "event"; readonly event: RoomEvent; readonly streamOrdering: number }
  | { readonly kind: "redacted"; readonly eventId: string };

export class SearchIndexer {
  readonly #deps: SearchIndexerDeps;
  readonly #flushDelayMs: number;
  #pending: Item[] = [];
  /** The highest stream position heard (or read by the catch-up). */
  #heard = STREAM_START;
  #stored = STREAM_START;
  #live = false;
  #closed = false;
  #positionFrozen = false;
  #running: Promise<void> = Promise.resolve();
  #started: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(deps: SearchIndexerDeps) {
    this.#deps = deps;
    this.#flushDelayMs = deps.flushDelayMs ?? DEFAULT_FLUSH_DELAY_MS;
  }

  /** Subscribes at once; the catch-up runs in the background (the returned promise ends with it). */
  start(): Promise<void> {
    if (this.#started === undefined) {
      this.#unsubscribe = this.#deps.roomserver.subscribe((output) => this.#hear(output));
      this.#started = this.#catchUp()
        .catch((err: unknown) => {
          // What it did not read stays behind the stored position, which no longer moves: the next start reads it.
          this.#positionFrozen = true;
          this.#deps.logger?.error({ err }, "search index: catching up with the room stream failed");
        })
        .then(() => {
          this.#live = true;
        });
      this.#running = this.#started.then(() => this.#flush());
    }
    return this.#started;
  }

  /**
   * Indexes events that joined the timeline through backfill: no output tells of them (they are
   * history, placed below the live positions), so the backfiller hands them here. A crash before
   * this leaves them out of the index (a restart reads on from the live positions only).
   */
  async indexBackfilled(entries: ReadonlyArray<{ readonly event: RoomEvent; readonly streamOrdering: number }>): Promise<void> {
    const add = entries.flatMap((e) => searchEntryOf(e.event, e.streamOrdering) ?? []);
    if (add.length === 0) return;
    const write = () => this.#deps.store.write({ add, remove: [], position: undefined });
    // While catching up, at once (a /messages request waits for this): a redaction heard meanwhile
    // waits with the live outputs, so it still comes after. Once live, in turn with them.
    if (!this.#live) return await write();
    const run = this.#running.then(write);
    this.#running = run.catch((err: unknown) => this.#deps.logger?.error({ err }, "search index: a write of backfilled events failed"));
    await run;
  }

  /** Resolves once what was heard before the call is in the index (the catch-up included). */
  async settled(): Promise<void> {
    await this.start();
    this.#scheduleNow();
    await this.#running;
  }

  /** As `settled`, but waits at most `ms` (a search answers with what is indexed by then). */
  async settledWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    try {
      await Promise.race([this.settled(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops listening (and catching up), writes what is pending and the position. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#started === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduleNow();
    await this.#running;
    if (this.#live && !this.#positionFrozen && this.#heard > this.#stored) {
      await this.#write({ add: [], remove: [], position: this.#heard }).catch((err: unknown) =>
        this.#deps.logger?.error({ err }, "search index: storing the position failed"),
      );
    }
  }

  #hear(output: RoomserverOutput): void {
    if (output.kind === "new_room_event") {
      this.#heard = Math.max(this.#heard, output.streamOrdering);
      // An out-of-band membership is not part of the room's timeline here.
      if (output.outOfBand === true || !INDEXED_TYPES.has(output.event.type)) return;
      this.#pending.push({ kind: "event", event: output.event, streamOrdering: output.streamOrdering });
    } else {
      this.#pending.push({ kind: "redacted", eventId: output.redactedEventId });
    }
    if (!this.#live) return;
    if (this.#pending.length >= MAX_PENDING) this.#scheduleNow();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#scheduleNow(), this.#flushDelayMs);
      this.#timer.unref();
    }
  }

  #scheduleNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#live) return;
    this.#running = this.#running.then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    const items = this.#pending;
    this.#pending = [];
    const add: SearchEntry[] = [];
    const remove: string[] = [];
    for (const item of items) {
      if (item.kind === "redacted") remove.push(item.eventId);
      else {
        const entry = searchEntryOf(item.event, item.streamOrdering);
        if (entry !== undefined) add.push(entry);
      }
    }
    const position = this.#positionFrozen ? undefined : this.#heard;
    if (add.length === 0 && remove.length === 0 && (position === undefined || position - this.#stored < POSITION_EVERY)) return;
    try {
      // The removals and the position go with the last chunk: a removal then follows the add of
      // its event, and a failure of any chunk leaves the stored position behind all of them.
      let from = 0;
      for (; add.length - from > WRITE_CHUNK; from += WRITE_CHUNK) {
        await this.#write({ add: add.slice(from, from + WRITE_CHUNK), remove: [], position: undefined });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await this.#write({ add: from === 0 ? add : add.slice(from), remove, position });
    } catch (err) {
      // The stored position stays behind these, and no longer moves: the next start reads them again.
      this.#positionFrozen = true;
      this.#deps.logger?.error({ err }, "search index: a write failed");
    }
  }

  async #catchUp(): Promise<void> {
    let position = (await this.#deps.store.position()) ?? STREAM_START;
    this.#stored = position;
    while (!this.#closed) {
      const entries = await this.#deps.streamSince(position, CATCH_UP_PAGE);
      const last = entries[entries.length - 1];
      if (last === undefined) break;
      const wanted = entries.filter((e) => INDEXED_TYPES.has(e.type) || e.type === "m.room.redaction");
      const infos = await Promise.all(wanted.map((e) => this.#deps.roomserver.getEvent(e.eventId)));
      const add: SearchEntry[] = [];
      const remove: string[] = [];
      for (const [i, info] of infos.entries()) {
        const streamOrdering = wanted[i]?.streamOrdering;
        if (info === undefined || streamOrdering === undefined || info.redactedBy !== undefined) continue;
        const entry = searchEntryOf(info.event, streamOrdering);
        if (entry !== undefined) add.push(entry);
        // A redaction read back: its target may have been redacted while no one listened.
        const target = info.event.type === "m.room.redaction" ? info.event.redacts : undefined;
        if (target !== undefined && (await this.#deps.roomserver.getEvent(target))?.redactedBy !== undefined) remove.push(target);
      }
      position = last.streamOrdering;
      this.#heard = Math.max(this.#heard, position);
      if (add.length > 0 || remove.length > 0 || position - this.#stored >= POSITION_EVERY) await this.#write({ add, remove, position });
    }
  }

  async #write(write: SearchIndexWrite): Promise<void> {
    await this.#deps.store.write(write);
    if (write.position !== undefined) this.#stored = Math.max(this.#stored, write.position);
  }
}
