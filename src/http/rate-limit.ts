// Rate limiting (client-server-api#rate-limiting) as token buckets, in Synapse's terms: `per_second`
// is the refill rate and `burst_count` the bucket size.

export interface RateLimitSettings {
  readonly perSecond: number;
  readonly burstCount: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused: how long until one more action is allowed. */
  readonly retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly settings: RateLimitSettings;
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(settings: RateLimitSettings, options: { now?: () => number; maxKeys?: number } = {}) {
    this.settings = settings;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Takes `cost` actions for `key` if the bucket holds them. */
  take(key: string, cost = 1): RateLimitDecision {
    const { perSecond, burstCount } = this.settings;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now);
      bucket = { tokens: burstCount, updatedMs: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burstCount, bucket.tokens + ((now - bucket.updatedMs) / 1000) * perSecond);
      bucket.updatedMs = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true, retryAfterMs: 0 };
    }
    const missing = cost - bucket.tokens;
    return { allowed: false, retryAfterMs: perSecond > 0 ? Math.ceil((missing / perSecond) * 1000) : 60_000 };
  }

  /** Forgets a key's history (e.g. after a successful login clears failed attempts). */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  /** Drops buckets that have refilled completely: they hold no information. */
  private evictFull(now: number): void {
    const { perSecond, burstCount } = this.settings;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.updatedMs) / 1000) * perSecond >= burstCount) this.buckets.delete(key);
    }
    // Still full of active keys: drop the oldest insertion rather than grow without bound.
    while (this.buckets.size >= this.maxKeys) {
      const first = this.buckets.keys().next();
      if (first.done === true) break;
      this.buckets.delete(first.value);
    }
  }
}
