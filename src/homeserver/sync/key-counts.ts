// device_one_time_keys_count and device_unused_fallback_key_types for /sync
// (modules/end_to_end_encryption.md#extensions-to-sync). Every response carries them (clients read
// a missing count as unknown), but reading them for every message of a busy room costs two queries
// per sync: they are read at most once a second per device. A count a moment old only makes a
// client top its keys up a moment late; and a delivery of to-device messages (the usual sign that
// someone claimed a key to start a session) reads them afresh.
import { systemClock, type Clock } from "./clock.ts";
import type { SyncOneTimeKeys } from "./sources.ts";
import { rememberRecent } from "../../core/recent-map.ts";

export const KEY_COUNT_TTL_MS = 1_000;
const MAX_DEVICES = 20_000;

export interface KeyCounts {
  readonly counts: Record<string, number>;
  readonly fallback: string[];
}

export class KeyCountCache {
  readonly #source: SyncOneTimeKeys;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { readonly at: number; readonly value: KeyCounts }>();

  constructor(source: SyncOneTimeKeys, clock: Clock = systemClock) {
    this.#source = source;
    this.#clock = clock;
  }

  async get(userId: string, deviceId: string, fresh: boolean): Promise<KeyCounts> {
    const key = `${userId}\u0000${deviceId}`;
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    if (!fresh && cached !== undefined && now - cached.at < KEY_COUNT_TTL_MS) return cached.value;
    const [counts, fallback] = await Promise.all([this.#source.counts(userId, deviceId), this.#source.unusedFallbackKeyTypes(userId, deviceId)]);
    const value = { counts, fallback };
    rememberRecent(this.#cache, key, { at: now, value }, MAX_DEVICES);
    return value;
  }
}
