// The in-memory shape of a stream whose readers want "what is the latest for each key changed
// after position P" (typing per room, presence per user): each key remembers the position of its
// last change, and a log ordered by position lets changesSince skip straight to P instead of
// scanning every key. Entries made stale by a newer change of their key are dropped lazily.

export class ChangeLog {
  // [key, position] in increasing position; an entry is live when it is its key's latest.
  #log: (readonly [string, number])[] = [];
  readonly #latest = new Map<string, number>();
  #position: number;

  constructor(start = 0) {
    this.#position = start;
  }

  /** The position of the last change. */
  get position(): number {
    return this.#position;
  }

  /** Records a change of `key` at the next position, and returns that position. */
  bump(key: string): number {
    const position = ++this.#position;
    this.#latest.set(key, position);
    this.#log.push([key, position]);
    // Compact once stale entries are the majority, so the log stays O(keys) in size.
    if (this.#log.length > 2 * this.#latest.size + 16) {
      this.#log = this.#log.filter(([k, p]) => this.#latest.get(k) === p);
    }
    return position;
  }

  /** The position of the key's last change, if it is known. */
  positionOf(key: string): number | undefined {
    return this.#latest.get(key);
  }

  /** The keys changed after `since`, each once, in the order of their last change. */
  changedSince(since: number): string[] {
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#log[mid] as readonly [string, number])[1] <= since) lo = mid + 1;
      else hi = mid;
    }
    const keys: string[] = [];
    for (let i = lo; i < this.#log.length; i++) {
      const [key, position] = this.#log[i] as readonly [string, number];
      if (this.#latest.get(key) === position) keys.push(key);
    }
    return keys;
  }
}
