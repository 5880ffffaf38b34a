// Writes presence records behind the in-memory PresenceService: changes are collected and written
// in one transaction shortly after, the latest record of each user winning, so a burst of syncs
// costs one write. What is pending is written on close.
import type { PresenceStore } from "../../storage/stores/presence.ts";
import type { PresencePersistence, PresenceRecord } from "./presence.ts";

const FLUSH_DELAY_MS = 1_000;

export class BatchedPresencePersistence implements PresencePersistence {
  readonly #store: PresenceStore;
  readonly #onError: (error: unknown) => void;
  #pending = new Map<string, PresenceRecord>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(store: PresenceStore, onError: (error: unknown) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  save(record: PresenceRecord): void {
    this.#pending.set(record.userId, record);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
      this.#timer.unref();
    }
  }

  /** Writes what is pending (one write at a time, in order). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const records = [...this.#pending.values()];
    this.#pending = new Map();
    if (records.length === 0) return this.#writing;
    this.#writing = this.#writing.then(() => this.#store.save(records)).catch(this.#onError);
    return this.#writing;
  }
}
