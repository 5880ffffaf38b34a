// Access-token authentication happens on nearly every request: the token's requester is cached in a
// bounded map (least recently used first out), keyed by the token's hash.
//
// A deleted device's token must be refused at once, so every revocation invalidates the cache. A
// lookup that read the database before a revocation must not put its stale answer in afterwards:
// each invalidation bumps an epoch, and an entry is only stored if the epoch did not move while it
// was being read.
import type { Requester } from "../../http/endpoint.ts";
import { rememberRecent } from "../../core/recent-map.ts";

export interface CachedToken {
  readonly requester: Requester;
  readonly tokenId: number;
  /** Null for a token that does not expire. */
  readonly expiresTs: number | null;
}

export class AccessTokenCache {
  readonly #entries = new Map<string, CachedToken>();
  readonly #maxEntries: number;
  #epoch = 0;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Read before a database lookup, passed back to `set`. */
  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(hash: string): CachedToken | undefined {
    const entry = this.#entries.get(hash);
    if (entry !== undefined) {
      // Most recently used goes last: a Map iterates in insertion order.
      this.#entries.delete(hash);
      this.#entries.set(hash, entry);
    }
    return entry;
  }

  /** Stores an entry read from the database, unless something was revoked since `epoch`. */
  set(hash: string, entry: CachedToken, epoch: number): void {
    if (epoch !== this.#epoch) return;
    rememberRecent(this.#entries, hash, entry, this.#maxEntries);
  }

  /** Drops every entry matching `revoked` (and anything being read right now). */
  invalidate(revoked: (entry: CachedToken) => boolean): void {
    this.#epoch++;
    for (const [hash, entry] of this.#entries) if (revoked(entry)) this.#entries.delete(hash);
  }

  invalidateUser(userId: string): void {
    this.invalidate((e) => e.requester.userId === userId);
  }

  invalidateDevices(userId: string, deviceIds: readonly string[]): void {
    const ids = new Set(deviceIds);
    this.invalidate((e) => e.requester.userId === userId && e.requester.deviceId !== undefined && ids.has(e.requester.deviceId));
  }

  invalidateTokens(tokenIds: readonly number[]): void {
    if (tokenIds.length === 0) return;
    const ids = new Set(tokenIds);
    this.invalidate((e) => ids.has(e.tokenId));
  }
}
