// A clock for tests: time moves only when the test says so, and due callbacks run in time order.
import type { Clock, TimerHandle } from "../../../src/homeserver/sync/clock.ts";

interface Scheduled {
  readonly handle: TimerHandle;
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<TimerHandle, Scheduled>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = { timer: ++this.#seq };
    this.#timers.set(handle, { handle, due: this.#now + Math.max(0, ms), seq: this.#seq, callback });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** How many callbacks are scheduled and not yet run. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running each callback that falls due, at its own time, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Scheduled | undefined;
      for (const t of this.#timers.values()) {
        if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      this.#timers.delete(next.handle);
      this.#now = next.due;
      next.callback();
    }
    this.#now = end;
  }
}
