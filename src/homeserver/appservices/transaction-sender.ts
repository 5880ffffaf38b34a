// The transactions of one application service (application-service-api#pushing-events): events in
// stream order, a batch at a time in PUT /_matrix/app/v1/transactions/{txnId}. A transaction is
// stored before it is first sent and sent unchanged until the service answers 200 ("Homeservers
// MUST NOT alter ... events they were going to send within that transaction ID on retries"); while
// the service cannot be reached the retries back off exponentially ("SHOULD backoff exponentially").
import type { JsonObject } from "../../core/json.ts";
import type { AppserviceStore } from "../../storage/stores/appservices.ts";
import type { Appservice } from "./appservice.ts";
import type { AppserviceClient } from "./client.ts";

/** Events in one transaction, at most (Synapse's batch size). */
const MAX_EVENTS_PER_TXN = 100;
/** Events waiting for a transaction, at most; past it the oldest are dropped (and said so). */
const MAX_QUEUED = 100_000;

export interface TransactionSenderOptions {
  readonly appservice: Appservice;
  readonly store: AppserviceStore;
  readonly client: AppserviceClient;
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
  #queue: QueuedEvent[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TransactionSenderOptions) {
    this.#o = options;
  }

  /** Sends what a previous run left unacknowledged, first. */
  start(): void {
    this.#running ??= this.#run();
  }

  enqueue(json: JsonObject, streamOrdering: number): void {
    if (this.#closed) return;
    if (this.#queue.length >= MAX_QUEUED) {
      this.#queue.shift();
      this.#o.log.warn({ appservice: this.#o.appservice.id }, "application service queue full: an event was dropped");
    }
    this.#queue.push({ json, streamOrdering });
    this.start();
  }

  /** Resolves once nothing waits and no transaction is unacknowledged (tests). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { appservice, store } = this.#o;
    try {
      for (const txn of await store.pending(appservice.id)) {
        if (!(await this.#deliver(txn.txnId, txn.body))) return;
      }
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.slice(0, MAX_EVENTS_PER_TXN);
        const body = JSON.stringify({ events: batch.map((e) => e.json) });
        const last = batch[batch.length - 1] as QueuedEvent;
        const txnId = await store.createTransaction(appservice.id, body, last.streamOrdering);
        this.#queue.splice(0, batch.length);
        if (!(await this.#deliver(txnId, body))) return;
      }
    } catch (error) {
      this.#o.log.error({ err: error, appservice: appservice.id }, "sending to an application service failed");
    } finally {
      this.#running = undefined;
      // Events heard while the last transaction was finishing.
      if (this.#queue.length > 0 && !this.#closed) this.start();
    }
  }

  /** Sends the transaction until the service acknowledges it; false when closed first. */
  async #deliver(txnId: number, body: string): Promise<boolean> {
    const { appservice, client, store } = this.#o;
    let backoff = this.#o.minBackoffMs ?? 1000;
    for (;;) {
      if (this.#closed) return false;
      const response = await client.request(appservice, "PUT", `/transactions/${txnId}`, { body: JSON.parse(body) as JsonObject });
      if (response.ok) {
        await store.completeTransaction(appservice.id, txnId);
        return true;
      }
      this.#o.log.warn(
        { appservice: appservice.id, txnId, status: response.status, retryInMs: backoff },
        "application service did not take a transaction; retrying later",
      );
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, backoff);
        this.#timer.unref();
      });
      this.#wake = undefined;
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs ?? 5 * 60_000);
    }
  }
}
