// Inbound federation requests limited per origin server, in the terms of Synapse's `rc_federation`:
// requests from one server are processed `concurrent` at a time, the rest wait their turn; once
// more than `sleep_limit` arrived within `window_size`, each further one first waits `sleep_delay`;
// and when more than `reject_limit` are already waiting (sleeping or queued), a new one is refused
// with 429 M_LIMIT_EXCEEDED (client-server-api#rate-limiting: the same error shape).
//
// Transactions (PUT /send) are not delayed: a sender has one transaction in flight per destination
// (server-server-api#transactions) and puts more into the next one when we are slow, so delaying
// them only slows every room the two servers share (several times over, measured with the
// federation benchmark). They still count against `concurrent` and `reject_limit`, which is what
// holds back a server that floods us with them.
import { MatrixError } from "../core/errors.ts";

export interface FederationRateLimitSettings {
  /** Milliseconds. */
  readonly windowSize: number;
  readonly sleepLimit: number;
  /** Milliseconds. */
  readonly sleepDelay: number;
  readonly rejectLimit: number;
  readonly concurrent: number;
}

interface OriginState {
  /** Arrival times within the window, oldest first. */
  times: number[];
  active: number;
  sleeping: number;
  /** Requests waiting for a free slot, first come first served. */
  readonly ready: Array<() => void>;
}

export class FederationRateLimiter {
  readonly #settings: FederationRateLimitSettings;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #origins = new Map<string, OriginState>();
  readonly #maxOrigins: number;
  readonly #neverDelayed: ReadonlySet<string>;

  constructor(
    settings: FederationRateLimitSettings,
    options: { now?: () => number; sleep?: (ms: number) => Promise<void>; maxOrigins?: number; neverDelayed?: readonly string[] } = {},
  ) {
    this.#neverDelayed = new Set(options.neverDelayed ?? []);
    this.#settings = settings;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#maxOrigins = options.maxOrigins ?? 10_000;
  }

  /**
   * Runs a request of `origin` (to the endpoint named `endpoint`) within its limits; throws 429
   * M_LIMIT_EXCEEDED when too many wait already.
   */
  async run<T>(origin: string, endpoint: string, handle: () => Promise<T>): Promise<T> {
    const s = this.#settings;
    const state = this.#stateOf(origin);
    const now = this.#now();
    while (state.times.length > 0 && now - (state.times[0] as number) >= s.windowSize) state.times.shift();
    const sleeps = state.times.length + 1 > s.sleepLimit && s.sleepDelay > 0 && !this.#neverDelayed.has(endpoint);
    const waits = sleeps || state.active >= s.concurrent || state.sleeping + state.ready.length > 0;
    // At most `concurrent` in process and `reject_limit` waiting: one more that would wait is refused.
    if (waits && state.sleeping + state.ready.length >= s.rejectLimit) {
      throw new MatrixError("M_LIMIT_EXCEEDED", "Too many requests from your server", 429, { retry_after_ms: s.windowSize });
    }
    state.times.push(now);
    if (sleeps) {
      state.sleeping++;
      try {
        await this.#sleep(s.sleepDelay);
      } finally {
        state.sleeping--;
      }
    }
    // A slot is handed from a finishing request to the first waiting one, counted throughout.
    if (state.active >= s.concurrent || state.ready.length > 0) await new Promise<void>((resolve) => state.ready.push(resolve));
    else state.active++;
    try {
      return await handle();
    } finally {
      const next = state.ready.shift();
      if (next !== undefined) next();
      else state.active--;
    }
  }

  /** How many requests of `origin` are being processed, sleeping and queued (tests, metrics). */
  load(origin: string): { active: number; sleeping: number; queued: number } {
    const state = this.#origins.get(origin);
    return { active: state?.active ?? 0, sleeping: state?.sleeping ?? 0, queued: state?.ready.length ?? 0 };
  }

  #stateOf(origin: string): OriginState {
    let state = this.#origins.get(origin);
    if (state !== undefined) return state;
    if (this.#origins.size >= this.#maxOrigins) this.#forgetIdle();
    state = { times: [], active: 0, sleeping: 0, ready: [] };
    this.#origins.set(origin, state);
    return state;
  }

  /** Drops origins with nothing in flight and no arrival within the window: they hold no information. */
  #forgetIdle(): void {
    const now = this.#now();
    for (const [origin, state] of this.#origins) {
      const last = state.times[state.times.length - 1];
      const idle = state.active === 0 && state.sleeping === 0 && state.ready.length === 0;
      if (idle && (last === undefined || now - last >= this.#settings.windowSize)) this.#origins.delete(origin);
    }
  }
}
