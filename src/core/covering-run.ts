// A task run so that every call is covered by a run that starts after the call, with as few runs as
// that allows: a call while a run is going gets the run that follows it, shared by every call made
// meanwhile. A WAL sync covers the commits that ended before it started (storage/wal-sync.ts); a
// refresh of the user directory, the users marked stale before it started (rooms/user-directory.ts).
export class CoveringRun {
  readonly #task: () => Promise<void>;
  /** The run going now, if any. */
  #running: Promise<void> | undefined;
  /** The run that starts when the one going ends. */
  #next: Promise<void> | undefined;

  constructor(task: () => Promise<void>) {
    this.#task = task;
  }

  /** Settles when a run started after this call has ended (rejecting as it did). */
  run(): Promise<void> {
    if (this.#next !== undefined) return this.#next;
    if (this.#running === undefined) return this.#start();
    const after = (): Promise<void> => {
      this.#next = undefined;
      return this.#start();
    };
    this.#next = this.#running.then(after, after);
    return this.#next;
  }

  /** Settles when the run going and the one waiting (if any) have ended, whatever their outcome. */
  async settled(): Promise<void> {
    const ignore = (): undefined => undefined;
    await this.#running?.then(ignore, ignore);
    await this.#next?.then(ignore, ignore);
  }

  #start(): Promise<void> {
    const running = this.#task();
    this.#running = running;
    const done = (): void => {
      if (this.#running === running) this.#running = undefined;
    };
    running.then(done, done);
    return running;
  }
}
