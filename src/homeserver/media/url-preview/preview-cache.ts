// Previews kept in memory by URL, as Synapse keeps them: a repeated request is answered from here,
// and requests for a URL while it is being fetched wait for that one fetch. Failures are kept too
// (for less time), so a page that fails is not fetched again by every client that shows it.

export interface PreviewCacheOptions {
  /** How long a preview is kept (Synapse: an hour). */
  readonly ttlMs: number;
  /** How long a failure is kept. */
  readonly failureTtlMs: number;
  /** The most URLs kept; the least recently used goes first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

interface Entry<T> {
  readonly value: Promise<T>;
  /** Unset while the fetch runs. */
  expiresAt: number | undefined;
}

export class PreviewCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #now: () => number;

  constructor(private readonly options: PreviewCacheOptions) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The kept or running result for `key`, else `compute()`'s, shared with whoever asks meanwhile. */
  get(key: string, compute: () => Promise<T>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > this.#now())) {
      // Moved to the end: the Map's order is the order of last use.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      return entry.value;
    }
    const value = compute();
    const fresh: Entry<T> = { value, expiresAt: undefined };
    this.#entries.delete(key);
    this.#entries.set(key, fresh);
    value.then(
      () => (fresh.expiresAt = this.#now() + this.options.ttlMs),
      () => (fresh.expiresAt = this.#now() + this.options.failureTtlMs),
    );
    this.#evict();
    return value;
  }

  #evict(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key);
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.options.maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
