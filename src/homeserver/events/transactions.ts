// Idempotent sends (client-server-api#transaction-identifiers): "The homeserver should identify a
// request as a retransmission if the transaction ID is the same as a previous request, and the path
// of the HTTP request is the same", scoped to "a single device, and a single HTTP endpoint", and
// answer it as the original was answered (200 with the original event ID). A retransmission that
// arrives while the original is still running waits for it rather than sending a second event.
// Failures are not remembered: a retransmission of a refused request is tried again.
// The key is recorded by the room engine in the transaction that stores the event
// (LocalEventRequest.transaction): one commit per send, and no acknowledged send without its record.
import type { TransactionKey, TransactionStore } from "../../storage/stores/transactions.ts";

/** How long a transaction is remembered (Synapse keeps its event_txn_id rows a day; we keep a week). */
export const TRANSACTION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export class Transactions {
  readonly #store: TransactionStore;
  readonly #now: () => number;
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(store: TransactionStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  get store(): TransactionStore {
    return this.#store;
  }

  /**
   * Runs `create` once per key: later requests with the key get the event the first one created.
   * `create` must have the event stored with `key` (LocalEventRequest.transaction).
   */
  async once(key: TransactionKey, create: () => Promise<string>): Promise<string> {
    const id = JSON.stringify([key.userId, key.deviceId, key.scope, key.txnId]);
    const running = this.#inFlight.get(id);
    if (running !== undefined) return await running;
    const attempt = (async () => {
      const existing = await this.#store.eventFor(key);
      if (existing !== undefined) return existing;
      return await create();
    })();
    this.#inFlight.set(id, attempt);
    try {
      return await attempt;
    } finally {
      this.#inFlight.delete(id);
    }
  }

  /** Forgets transactions older than the retention; returns how many. */
  async purge(): Promise<number> {
    return await this.#store.purgeBefore(this.#now() - TRANSACTION_RETENTION_MS);
  }
}
