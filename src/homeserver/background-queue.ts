// Work a hot path hands off (the room engine's outputs, heard on the send path) and that is done
// later, in order, in batches a turn of the event loop apart: whoever queues never waits for it.
// What waits is bounded: past `max` the oldest items are dropped, and `onDropped` says how many.

export interface BackgroundQueueOptions<T> {
  /** Items waiting, at most. */
  readonly max: number;
  /** Items worked through between two turns of the event loop. */
  readonly batch: number;
  readonly work: (item: T) => Promise<void>;
  /** An item's work failed; the queue goes on with the next. */
  readonly onError: (error: unknown) => void;
  readonly onDropped?: (count: number) => void;
}

export class BackgroundQueue<T> {
  readonly #options: BackgroundQueueOptions<T>;
  #items: T[] = [];
  #dropped = 0;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(options: BackgroundQueueOptions<T>) {
    this.#options = options;
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.#options.max) {
      this.#items.shift();
      this.#dropped++;
    }
    this.#items.push(item);
    this.#draining ??= this.#drain();
  }

  /** Resolves once every item queued so far is worked through. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Drops what waits, and waits for the batch being worked through. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#items = [];
    await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#items.length > 0 && !this.#closed) {
        // A turn of the event loop first: the items of one busy moment are taken together.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#dropped > 0) {
          this.#options.onDropped?.(this.#dropped);
          this.#dropped = 0;
        }
        for (const item of this.#items.splice(0, this.#options.batch)) {
          try {
            await this.#options.work(item);
          } catch (error) {
            this.#options.onError(error);
          }
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}
