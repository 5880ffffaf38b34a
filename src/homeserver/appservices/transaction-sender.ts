// The transactions of one application service (application-service-api#pushing-events): events in
// stream order, a batch at a time in PUT /_matrix/app/v1/transactions/{txnId}. A transaction is
// stored before it is first sent and sent unchanged until the service answers 200 ("Homeservers
// MUST NOT alter ... events they were going to send within that transaction ID on retries"); while
// the service cannot be reached the retries back off exponentially ("SHOULD backoff exponentially").
// A run that fails here (the database cannot store or complete a transaction) starts again after a
// wait that backs off the same way.
//
// Events wait in memory until they are put in a transaction; only then are they stored. The
// service's stored position (where the next start reads the room stream on from) therefore never
// passes an event still waiting here: it is stored with each transaction, and now and then on its
// own (savePosition), each time under the lowest event waiting and under what the forwarder has
// looked at (stream-progress.ts). A restart then reads the waiting events from the room stream again.
//
// Ephemeral data (application-service-api#pushing-ephemeral-data, the body's `ephemeral`) waits in
// a queue of its own, in memory only: it has no stream position, so it neither holds the stored
// position nor comes back after a restart, and past a bound the oldest is dropped. It goes into the
// next transaction beside the events waiting then, or alone (with `events: []`, which is required);
// once in a stored transaction it is sent unchanged like them.
import type { JsonObject } from "../../core/json.ts";
import type { AppserviceStore } from "../../storage/stores/appservices.ts";
import type { Appservice } from "./appservice.ts";
import type { AppserviceClient } from "./client.ts";
import { PositionQueue } from "./position-queue.ts";

/** Events in one transaction, at most (Synapse's batch size). */
const MAX_EVENTS_PER_TXN = 100;
/** Ephemeral items in one transaction, at most. */
const MAX_EPHEMERAL_PER_TXN = 100;
/** Ephemeral items waiting, at most; past it the oldest are dropped (ephemeral data may be lost). */
const MAX_EPHEMERAL_QUEUED = 10_000;
/**
 * Events waiting for a transaction, at most; past it new ones are refused (and said so) and the
 * stored position stays under them, so the next start sends them.
 */
const MAX_QUEUED = 100_000;

export interface TransactionSenderOptions {
  readonly appservice: Appservice;
  readonly store: AppserviceStore;
  readonly client: AppserviceClient;
  /** A position every event at or below which has been handed here or was not for the service (StreamProgress). */
  readonly forwardedUpTo: () => Promise<number>;
  /** The first retry's wait; it doubles up to maxBackoffMs. Default 1 s and 5 min. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly log: { warn(fields: object, message: string): void; error(fields: object, message: string): void };
}

interface QueuedEvent {
  readonly json: JsonObject;
  readonly streamOrdering: number;
}

export class TransactionSender {
  readonly #o: TransactionSenderOptions;
  readonly #queue = new PositionQueue<QueuedEvent>((e) => e.streamOrdering);
  /** Events above this were refused (queue full, or closed): the stored position stays at or below it for the rest of the run. */
  #held = Number.POSITIVE_INFINITY;
  /**
   * Ephemeral items waiting for a transaction, oldest first, by key: an item given under the key of
   * one still waiting replaces it in its place (m.typing and m.presence carry the whole state).
   */
  readonly #ephemeral = new Map<string, JsonObject>();
  /** Ephemeral items dropped since a transaction last took some: the first drop is logged. */
  #ephemeralDropped = 0;
  /** The highest position this sender stored. */
  #stored = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Runs in a row that failed (the database could not store a transaction, say): the next waits longer. */
  #failures = 0;

  constructor(options: TransactionSenderOptions) {
    this.#o = options;
  }

  /** Sends what a previous run left unacknowledged, first. */
  start(): void {
    this.#running ??= this.#run();
  }

  enqueue(json: JsonObject, streamOrdering: number): void {
    if (this.#closed || this.#queue.length >= MAX_QUEUED) {
      if (!this.#closed && this.#held === Number.POSITIVE_INFINITY) {
        this.#o.log.warn({ appservice: this.#o.appservice.id }, "application service queue full: events wait for the next start");
      }
      this.#held = Math.min(this.#held, streamOrdering - 1);
      return;
    }
    this.#queue.push({ json, streamOrdering });
    this.start();
  }

  /** Ephemeral data for the next transaction (transactions.yaml `ephemeral`); see #ephemeral for `key`. */
  enqueueEphemeral(key: string, json: JsonObject): void {
    if (this.#closed) return;
    this.#ephemeral.set(key, json);
    if (this.#ephemeral.size > MAX_EPHEMERAL_QUEUED) {
      this.#ephemeral.delete(this.#ephemeral.keys().next().value as string);
      if (this.#ephemeralDropped++ === 0) {
        this.#o.log.warn({ appservice: this.#o.appservice.id }, "application service ephemeral queue full: the oldest ephemeral data is dropped");
      }
    }
    this.start();
  }

  /**
   * Stores the service's position without a transaction, as far as it may go: past the events
   * that were not for the service, never past one waiting here.
   */
  async savePosition(): Promise<void> {
    const position = this.#safePosition(await this.#o.forwardedUpTo(), 0);
    if (position <= this.#stored) return;
    await this.#o.store.advancePosition(this.#o.appservice.id, position);
    this.#stored = Math.max(this.#stored, position);
  }

  /** Resolves once nothing waits and no transaction is unacknowledged (tests). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ephemeral.clear();
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { appservice, store } = this.#o;
    let failed = false;
    try {
      for (const txn of await store.pending(appservice.id)) {
        if (!(await this.#deliver(txn.txnId, txn.body))) return;
      }
      while (this.#hasWaiting() && !this.#closed) {
        // Left in the queue until stored: a savePosition meanwhile stays under them.
        const batch = this.#queue.peek(MAX_EVENTS_PER_TXN);
        const position = this.#safePosition(await this.#o.forwardedUpTo(), batch.length);
        // Taken at once, holding no position: lost if the transaction cannot be stored.
        const ephemeral = this.#takeEphemeral();
        const events = batch.map((e) => e.json);
        // transactions.yaml: `ephemeral` "can be omitted if it would be empty".
        const body = JSON.stringify(ephemeral.length === 0 ? { events } : { events, ephemeral });
        const txnId = await store.createTransaction(appservice.id, body, position);
        this.#failures = 0;
        this.#queue.shift(batch.length);
        this.#stored = Math.max(this.#stored, position);
        if (!(await this.#deliver(txnId, body))) return;
      }
    } catch (error) {
      const retryInMs = this.#backoff(this.#failures++);
      this.#o.log.error({ err: error, appservice: appservice.id, retryInMs }, "sending to an application service failed");
      // The next run starts after a wait, as the retries of a refused transaction do, not at once,
      // and whether or not anything new waits: a stored transaction may be left to send.
      await this.#sleep(retryInMs);
      failed = true;
    } finally {
      this.#running = undefined;
      // Events and ephemeral data heard while the last transaction was finishing.
      if ((failed || this.#hasWaiting()) && !this.#closed) this.start();
    }
  }

  #hasWaiting(): boolean {
    return this.#queue.length > 0 || this.#ephemeral.size > 0;
  }

  #takeEphemeral(): JsonObject[] {
    const taken: JsonObject[] = [];
    for (const [key, json] of this.#ephemeral) {
      if (taken.length === MAX_EPHEMERAL_PER_TXN) break;
      taken.push(json);
      this.#ephemeral.delete(key);
    }
    this.#ephemeralDropped = 0;
    return taken;
  }

  /**
   * The highest position that may be stored once the first `inTransaction` waiting events are in a
   * stored transaction: what the forwarder has looked at, under the other events waiting here and
   * under any refused. Events only move from the forwarder to this queue and from it into stored
   * transactions, so one that moves while `forwardedUpTo` answers is still counted by one of the two.
   */
  #safePosition(forwarded: number, inTransaction: number): number {
    return Math.min(forwarded, (this.#queue.lowest(inTransaction) ?? Number.POSITIVE_INFINITY) - 1, this.#held);
  }

  /** Sends the transaction until the service acknowledges it; false when closed first. */
  async #deliver(txnId: number, body: string): Promise<boolean> {
    const { appservice, client, store } = this.#o;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return false;
      const response = await client.request(appservice, "PUT", `/transactions/${txnId}`, { body: JSON.parse(body) as JsonObject });
      if (response.ok) {
        await store.completeTransaction(appservice.id, txnId);
        return true;
      }
      const retryInMs = this.#backoff(attempt);
      this.#o.log.warn({ appservice: appservice.id, txnId, status: response.status, retryInMs }, "application service did not take a transaction; retrying later");
      await this.#sleep(retryInMs);
    }
  }

  /** The wait before retry `n` (from 0): minBackoffMs, doubling up to maxBackoffMs. */
  #backoff(n: number): number {
    return Math.min((this.#o.minBackoffMs ?? 1000) * 2 ** Math.min(n, 30), this.#o.maxBackoffMs ?? 5 * 60_000);
  }

  /** Waits `ms`, or until close. */
  async #sleep(ms: number): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
      this.#timer.unref();
    });
    this.#wake = undefined;
  }
}
