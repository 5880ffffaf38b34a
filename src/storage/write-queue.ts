// A FIFO of async tasks, run one at a time. SQLite allows one writer; better-sqlite3 is
// synchronous but a transaction spans awaits, so without this two db.write calls could
// interleave their statements on the one connection. Kysely's SqliteDriver also holds a mutex
// for the whole transaction; this queue makes the guarantee ours, and strictly first come,
// first served.
export class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #length = 0;

  /** Tasks queued or running. */
  get length(): number {
    return this.#length;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.#length++;
    const result = this.#tail.then(task);
    // The next task waits for this one to settle, whether it succeeded or not.
    this.#tail = result.then(
      () => this.#length--,
      () => this.#length--,
    );
    return result;
  }
}
