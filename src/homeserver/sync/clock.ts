// Time, passed in: the sync pieces never read the real clock themselves, so tests drive them with
// a fake one and assert on what happened, never on how long it took.

/** An opaque handle for a scheduled callback. */
export type TimerHandle = object | number;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a callback that has not run yet; a no-op after it ran. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process's clock. Its timers do not keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
