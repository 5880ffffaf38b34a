// Sending to other servers (server-server-api#transactions): one queue per destination, kept in
// the database (stores/federation-queue.ts) so a restart resumes it. A destination has at most
// one transaction in flight, of at most 50 PDUs and 100 EDUs; a failed one is sent again, same
// ID and body ("must wait and retry for a 200 OK response before sending a transaction with a
// different txnId"), after an exponential backoff. A destination that failed is caught up: what
// it missed is cut down to the newest event of each room, and it fetches the rest itself with
// /get_missing_events (server-server-api#backfilling-and-retrieving-missing-events).
import type { Pdu } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { DestinationRetry, EduToQueue, FederationQueueStore, PduToQueue } from "../../storage/stores/federation-queue.ts";

/** transactions.yaml: "Transactions are limited in size; they can have at most 50 PDUs and 100 EDUs." */
export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;

/** An EDU as sent (definitions/edu.yaml). */
export interface Edu {
  readonly edu_type: string;
  readonly content: JsonObject;
}

export interface TransactionClient {
  put(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject>;
}

interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface FederationSenderOptions {
  readonly serverName: string;
  readonly store: FederationQueueStore;
  readonly client: TransactionClient;
  /** The PDUs to send, by event ID, as stored (an event no longer stored is skipped). */
  readonly loadPdus: (eventIds: readonly string[]) => Promise<Map<string, Pdu>>;
  readonly logger?: Log;
  readonly now?: () => number;
  readonly random?: () => number;
  /** The first retry comes after about this long; each failure doubles it, up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly requestTimeoutMs?: number;
}

interface Transaction {
  readonly txnId: string;
  readonly pduIds: readonly number[];
  readonly eduIds: readonly number[];
  readonly body: JsonObject;
}

interface Destination {
  readonly name: string;
  running: boolean;
  /** Something was queued while the loop ran past its last look at the queue. */
  again: boolean;
  failures: number;
  retryAfterTs: number;
  catchingUp: boolean;
  timer: NodeJS.Timeout | undefined;
  /** The transaction that failed, to be sent again as it was. */
  inFlight: Transaction | undefined;
  /** Settles when the running loop stops. */
  done: Promise<void>;
}

const DEFAULT_INITIAL_BACKOFF_MS = 2_000;
const DEFAULT_MAX_BACKOFF_MS = 60 * 60 * 1000;
const CLOSE_PATIENCE_MS = 5_000;

export class FederationSender {
  readonly #options: FederationSenderOptions;
  readonly #now: () => number;
  readonly #destinations = new Map<string, Destination>();
  readonly #pdus: PduToQueue[] = [];
  readonly #edus: EduToQueue[] = [];
  #flush: Promise<void> | undefined;
  #txnCounter = 0;
  readonly #txnPrefix: string;
  #closed = false;

  constructor(options: FederationSenderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#txnPrefix = `${this.#now().toString(36)}${Math.floor((options.random ?? Math.random)() * 1e6).toString(36)}`;
  }

  /** Resumes what a previous run left: retry states and queued items. */
  async start(): Promise<void> {
    for (const retry of await this.#options.store.retries()) this.#restore(retry);
    for (const destination of await this.#options.store.destinationsWithPending()) this.#kick(destination);
  }

  /** Queues a PDU of a room for these destinations (never ourselves). */
  queuePdu(roomId: string, eventId: string, destinations: Iterable<string>): void {
    for (const destination of destinations) {
      if (destination === this.#options.serverName) continue;
      this.#pdus.push({ destination, roomId, eventId });
    }
    this.#scheduleFlush();
  }

  /** Queues an EDU for a destination (typing, receipts, presence, device lists, to-device...). */
  enqueueEdu(destination: string, edu: Edu): void {
    if (destination === this.#options.serverName) return;
    this.#edus.push({ destination, eduType: edu.edu_type, content: JSON.stringify(edu.content) });
    this.#scheduleFlush();
  }

  /**
   * The destination is back (it sent us something): try now rather than when its backoff ends.
   */
  wake(destination: string): void {
    const state = this.#destinations.get(destination);
    if (state === undefined || state.failures === 0) return;
    state.retryAfterTs = 0;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    this.#kick(destination);
  }

  /** Settles when what was queued so far is written and every running loop has stopped (sent, or backing off). */
  async settled(): Promise<void> {
    for (;;) {
      if (this.#flush !== undefined) {
        await this.#flush;
        continue;
      }
      const running = [...this.#destinations.values()].filter((d) => d.running);
      if (running.length === 0) return;
      await Promise.all(running.map((d) => d.done));
    }
  }

  /** Whether a destination is failing, and since how many attempts. */
  failures(destination: string): number {
    return this.#destinations.get(destination)?.failures ?? 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const state of this.#destinations.values()) {
      if (state.timer !== undefined) clearTimeout(state.timer);
      state.timer = undefined;
    }
    if (this.#flush !== undefined) await this.#flush.catch(() => undefined);
    // A transaction to a server that does not answer may take until its timeout: shutting down
    // waits a little for those in flight, not that long (what they held stays queued).
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_PATIENCE_MS);
      timer.unref();
    });
    await Promise.race([Promise.all([...this.#destinations.values()].map((d) => d.done)), patience]);
    clearTimeout(timer);
  }

  #restore(retry: DestinationRetry): void {
    const state = this.#state(retry.destination);
    state.failures = retry.failureCount;
    state.retryAfterTs = retry.retryAfterTs;
    state.catchingUp = retry.catchingUp;
  }

  #state(destination: string): Destination {
    let state = this.#destinations.get(destination);
    if (state === undefined) {
      state = {
        name: destination,
        running: false,
        again: false,
        failures: 0,
        retryAfterTs: 0,
        catchingUp: false,
        timer: undefined,
        inFlight: undefined,
        done: Promise.resolve(),
      };
      this.#destinations.set(destination, state);
    }
    return state;
  }

  #scheduleFlush(): void {
    if (this.#flush !== undefined || this.#closed) return;
    // Everything queued in this turn of the event loop is written in one transaction.
    this.#flush = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#write());
  }

  async #write(): Promise<void> {
    try {
      while (this.#pdus.length > 0 || this.#edus.length > 0) {
        const pdus = this.#pdus.splice(0);
        const edus = this.#edus.splice(0);
        try {
          await this.#options.store.enqueue(pdus, edus, this.#now());
        } catch (err) {
          this.#options.logger?.error({ err, pdus: pdus.length, edus: edus.length }, "federation: could not queue for sending");
          continue;
        }
        for (const destination of new Set([...pdus.map((p) => p.destination), ...edus.map((e) => e.destination)])) this.#kick(destination);
      }
    } finally {
      this.#flush = undefined;
    }
  }

  #kick(destination: string): void {
    if (this.#closed) return;
    const state = this.#state(destination);
    if (state.running) {
      state.again = true;
      return;
    }
    const wait = state.retryAfterTs - this.#now();
    if (wait > 0) {
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        this.#kick(destination);
      }, wait);
      state.timer.unref();
      return;
    }
    state.running = true;
    state.done = this.#run(state).finally(() => {
      state.running = false;
    });
  }

  async #run(state: Destination): Promise<void> {
    const { store, client } = this.#options;
    try {
      while (!this.#closed) {
        state.again = false;
        let txn = state.inFlight;
        if (txn === undefined) {
          if (state.catchingUp) {
            const dropped = await store.compactForCatchUp(state.name);
            if (dropped > 0) this.#options.logger?.info({ destination: state.name, dropped }, "federation: catching up with the latest events only");
            state.catchingUp = false;
          }
          txn = await this.#nextTransaction(state.name);
          if (txn === undefined) {
            // Queued while we looked: look again; otherwise this destination is idle.
            if (state.again) continue;
            return;
          }
        }
        try {
          await client.put(state.name, `/_matrix/federation/v1/send/${encodeURIComponent(txn.txnId)}`, txn.body, {
            timeoutMs: this.#options.requestTimeoutMs,
          });
        } catch (err) {
          state.inFlight = txn;
          await this.#failed(state, err);
          return;
        }
        state.inFlight = undefined;
        await store.remove(state.name, txn.pduIds, txn.eduIds);
        if (state.failures > 0) {
          state.failures = 0;
          state.retryAfterTs = 0;
          await store.clearRetry(state.name);
          this.#options.logger?.info({ destination: state.name }, "federation: destination is reachable again");
        }
      }
    } catch (err) {
      // Storage failed: try again later as if the destination had.
      this.#options.logger?.error({ err, destination: state.name }, "federation: sending failed");
      await this.#failed(state, err).catch(() => undefined);
    }
  }

  async #nextTransaction(destination: string): Promise<Transaction | undefined> {
    const { pdus, edus } = await this.#options.store.peek(destination, MAX_PDUS_PER_TRANSACTION, MAX_EDUS_PER_TRANSACTION);
    if (pdus.length === 0 && edus.length === 0) return undefined;
    const loaded = pdus.length === 0 ? new Map<string, Pdu>() : await this.#options.loadPdus(pdus.map((p) => p.eventId));
    const txnId = `${this.#txnPrefix}.${++this.#txnCounter}`;
    const body: JsonObject = {
      origin: this.#options.serverName,
      origin_server_ts: this.#now(),
      pdus: pdus.flatMap((p) => loaded.get(p.eventId) ?? []),
    };
    if (edus.length > 0) body["edus"] = edus.map((e) => ({ edu_type: e.eduType, content: JSON.parse(e.content) as JsonObject }));
    return { txnId, pduIds: pdus.map((p) => p.id), eduIds: edus.map((e) => e.id), body };
  }

  async #failed(state: Destination, err: unknown): Promise<void> {
    state.failures += 1;
    state.catchingUp = true;
    const initial = this.#options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    const max = this.#options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    // Full doubling with ±20% jitter, so that destinations that failed together do not retry together.
    const base = Math.min(max, initial * 2 ** Math.min(30, state.failures - 1));
    const delay = Math.round(base * (0.8 + 0.4 * (this.#options.random ?? Math.random)()));
    state.retryAfterTs = this.#now() + delay;
    this.#options.logger?.warn(
      { destination: state.name, failures: state.failures, retryInMs: delay, err: err instanceof Error ? err.message : String(err) },
      "federation: transaction failed",
    );
    await this.#options.store.setRetry({
      destination: state.name,
      failureCount: state.failures,
      retryAfterTs: state.retryAfterTs,
      catchingUp: true,
    });
    if (!this.#closed) {
      state.timer = setTimeout(() => {
        state.timer = undefined;
        this.#kick(state.name);
      }, delay);
      state.timer.unref();
    }
  }
}
