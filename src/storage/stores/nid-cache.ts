// The numeric IDs (nids) the room tables use inside the database, cached both ways. Only values
// read from committed rows, or returned by a transaction after it committed, may enter the cache:
// a rolled-back transaction's nids can be handed out again.

/**
 * A map that keeps about `capacity` recently used entries: two generations, the young one taking
 * every write and every hit on the old one; when the young one is full it becomes the old one and
 * the old one is dropped. Cheaper than an exact LRU (no reordering on every hit).
 */
export class LruMap<K, V> {
  readonly #half: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(capacity: number) {
    this.#half = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: K): V | undefined {
    const value = this.#young.get(key);
    if (value !== undefined) return value;
    const old = this.#old.get(key);
    if (old !== undefined) this.#promote(key, old);
    return old;
  }

  set(key: K, value: V): void {
    this.#old.delete(key);
    this.#promote(key, value);
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  #promote(key: K, value: V): void {
    if (this.#young.size >= this.#half && !this.#young.has(key)) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}

/** A two-way cache of one kind of nid: string <-> number. */
export class NidMap {
  readonly #byString: LruMap<string, number>;
  readonly #byNid: LruMap<number, string>;

  constructor(capacity: number) {
    this.#byString = new LruMap(capacity);
    this.#byNid = new LruMap(capacity);
  }

  nid(value: string): number | undefined {
    return this.#byString.get(value);
  }

  value(nid: number): string | undefined {
    return this.#byNid.get(nid);
  }

  add(value: string, nid: number): void {
    this.#byString.set(value, nid);
    this.#byNid.set(nid, value);
  }

  clear(): void {
    this.#byString.clear();
    this.#byNid.clear();
  }
}

/** The caches the room stores share: event IDs and state keys (stateMapKey strings). */
export class NidCaches {
  readonly events: NidMap;
  readonly stateKeys: NidMap;

  constructor(options: { events?: number; stateKeys?: number } = {}) {
    this.events = new NidMap(options.events ?? 500_000);
    this.stateKeys = new NidMap(options.stateKeys ?? 500_000);
  }
}
