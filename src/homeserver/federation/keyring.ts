// Other servers' signing keys (server-server-api#retrieving-server-keys): answered from memory or
// storage, fetched from the server itself or through the configured notaries when missing or not
// valid long enough, one fetch at a time per server.
import type { TrustedKeyServer } from "../../config/index.ts";
import { decodeBase64 } from "../../core/crypto/base64.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { StoredServerKey } from "../../storage/stores/server-keys.ts";
import { checkServerKeysResponse, isSignedByNotary, type ServerKeysResponse } from "./key-response.ts";
import type { ServerKeyPublisher } from "./server-keys.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/**
 * "Servers MUST use the lesser of valid_until_ts and 7 days into the future when determining if a
 * key is valid" (rooms/fragments/v5-signing-requirements.md): counted from when we received it, so
 * a key is fetched again at least weekly and its owner can revoke it.
 */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

export interface KeyringStore {
  storeKeys(keys: readonly StoredServerKey[]): Promise<void>;
  getKey(serverName: string, keyId: string): Promise<StoredServerKey | undefined>;
  getKeys(serverName: string): Promise<StoredServerKey[]>;
}

export interface KeyFetchClient {
  get(destination: string, path: string, options?: { timeoutMs?: number }): Promise<JsonObject>;
  post(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject>;
}

interface Log {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface KeyringOptions {
  /** Our server name: our own keys come from `ownKeys`, never from the network. */
  readonly serverName: string;
  readonly ownKeys: Pick<ServerKeyPublisher, "verifyKey">;
  readonly store: KeyringStore;
  readonly client: KeyFetchClient;
  /** `trusted_key_servers`, asked first, in order; then the server itself. */
  readonly trustedKeyServers?: readonly TrustedKeyServer[];
  readonly now?: () => number;
  /** Per key request to a server or notary. */
  readonly fetchTimeoutMs?: number;
  /**
   * After a fetch that still left a key missing or too short-lived, how long the same question is
   * answered from the cache alone ("Requesting servers should limit how frequently they query").
   */
  readonly retryIntervalMs?: number;
  readonly logger?: Log;
}

interface CachedKey {
  readonly publicKey: Uint8Array;
  /** Until when the key verifies signatures, as the spec counts it. */
  readonly usableUntil: number;
  readonly expired: boolean;
}

interface Fetch {
  readonly promise: Promise<void>;
  readonly keyId: string;
  readonly minimumValidUntilTs: number;
}

const MAX_MEMORY_KEYS = 10_000;
const MAX_MISSES = 10_000;

/** Until when a stored key verifies signatures: its expiry if retired, else its capped validity. */
export function usableUntil(key: Pick<StoredServerKey, "validUntilTs" | "expiredTs" | "fetchedTs">): number {
  if (key.expiredTs !== null) return key.expiredTs;
  return Math.min(key.validUntilTs, key.fetchedTs + MAX_KEY_VALIDITY_MS);
}

/** Implements the event pipeline's `KeyRing`. */
export class Keyring {
  private readonly memory = new Map<string, CachedKey>();
  private readonly fetches = new Map<string, Fetch>();
  private readonly directFetches = new Map<string, Promise<void>>();
  private readonly misses = new Map<string, number>();
  private readonly now: () => number;
  private readonly fetchTimeoutMs: number;
  private readonly retryIntervalMs: number;

  constructor(private readonly options: KeyringOptions) {
    this.now = options.now ?? Date.now;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 15_000;
    this.retryIntervalMs = options.retryIntervalMs ?? 60_000;
  }

  /**
   * The public key `keyId` of `serverName` if it is valid until at least `minimumValidUntilTs`
   * (an event's origin_server_ts, or now for a request); fetched when missing or too short-lived.
   * Resolves undefined when no such key can be had; never rejects for network trouble.
   */
  async getVerifyKey(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<Uint8Array | undefined> {
    if (serverName === this.options.serverName) {
      const own = this.options.ownKeys.verifyKey(keyId);
      if (own === undefined || (own.expiredTs !== undefined && own.expiredTs < minimumValidUntilTs)) return undefined;
      return own.publicKey;
    }
    const cached = await this.cached(serverName, keyId);
    if (cached !== undefined && cached.usableUntil >= minimumValidUntilTs) return cached.publicKey;
    // A retired key stays retired: no fetch makes it valid later than its expired_ts.
    if (cached?.expired === true) return undefined;
    const missKey = `${serverName}\n${keyId}`;
    const missedAt = this.misses.get(missKey);
    if (missedAt !== undefined && this.now() - missedAt < this.retryIntervalMs) return undefined;

    await this.fetch(serverName, keyId, minimumValidUntilTs);
    const fetched = await this.cached(serverName, keyId);
    if (fetched !== undefined && fetched.usableUntil >= minimumValidUntilTs) return fetched.publicKey;
    rememberRecent(this.misses, missKey, this.now(), MAX_MISSES);
    return undefined;
  }

  /**
   * The stored key responses of a server, for answering as a notary: fetched from the server first
   * when none is valid until `minimumValidUntilTs` or the newest is past half its lifetime
   * (keys_server.yaml); the last ones received otherwise, even stale, when it cannot be reached.
   */
  async getServerKeyResponses(serverName: string, minimumValidUntilTs: number): Promise<JsonObject[]> {
    let rows = await this.options.store.getKeys(serverName);
    const now = this.now();
    const current = rows.filter((r) => r.expiredTs === null);
    const newest = current.reduce<StoredServerKey | undefined>((a, b) => (a === undefined || b.fetchedTs > a.fetchedTs ? b : a), undefined);
    const fresh = newest !== undefined && now < newest.fetchedTs + (newest.validUntilTs - newest.fetchedTs) / 2;
    if (!fresh || !current.some((r) => r.validUntilTs >= minimumValidUntilTs)) {
      await this.fetchDirectOnce(serverName);
      rows = await this.options.store.getKeys(serverName);
    }
    const seen = new Set<string>();
    const responses: JsonObject[] = [];
    for (const row of rows) {
      if (seen.has(row.keyJson)) continue;
      seen.add(row.keyJson);
      const json = JSON.parse(row.keyJson) as unknown; // written by us from a checked response
      if (isJsonObject(json)) responses.push(json);
    }
    return responses;
  }

  private async cached(serverName: string, keyId: string): Promise<CachedKey | undefined> {
    const memoryKey = `${serverName}\n${keyId}`;
    const inMemory = this.memory.get(memoryKey);
    if (inMemory !== undefined) return inMemory;
    const row = await this.options.store.getKey(serverName, keyId);
    const publicKey = row === undefined ? undefined : decodeBase64(row.verifyKey);
    if (row === undefined || publicKey === undefined) return undefined;
    const key: CachedKey = { publicKey, usableUntil: usableUntil(row), expired: row.expiredTs !== null };
    rememberRecent(this.memory, memoryKey, key, MAX_MEMORY_KEYS);
    return key;
  }

  /** Joins a fetch of the server already under way when it asks at least as much; else runs one. */
  private async fetch(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<void> {
    for (;;) {
      const running = this.fetches.get(serverName);
      if (running === undefined) break;
      await running.promise.catch(() => undefined); // its own caller sees its error
      if (running.keyId === keyId && running.minimumValidUntilTs >= minimumValidUntilTs) return;
      // A fetch for another key usually brings every key of the server: check before asking again.
      const key = await this.cached(serverName, keyId);
      if (key !== undefined && key.usableUntil >= minimumValidUntilTs) return;
    }
    const promise = this.fetchFromNetwork(serverName, keyId, minimumValidUntilTs).finally(() => this.fetches.delete(serverName));
    this.fetches.set(serverName, { promise, keyId, minimumValidUntilTs });
    await promise;
  }

  private async fetchFromNetwork(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<void> {
    for (const notary of this.options.trustedKeyServers ?? []) {
      if (notary.serverName === this.options.serverName) continue;
      try {
        await this.queryNotary(notary, serverName, keyId, minimumValidUntilTs);
      } catch (err) {
        this.options.logger?.warn({ err, notary: notary.serverName, serverName }, "keyring: notary query failed");
        continue;
      }
      const key = await this.cached(serverName, keyId);
      if (key !== undefined && key.usableUntil >= minimumValidUntilTs) return;
    }
    try {
      await this.fetchDirect(serverName);
    } catch (err) {
      this.options.logger?.warn({ err, serverName }, "keyring: fetching the server's keys failed");
    }
  }

  /** POST /_matrix/key/v2/query to a notary (server-server-api#post_matrixkeyv2query). */
  private async queryNotary(notary: TrustedKeyServer, serverName: string, keyId: string, minimumValidUntilTs: number): Promise<void> {
    // v5-signing-requirements: "servers MUST set the minimum_valid_until_ts property".
    const body = { server_keys: { [serverName]: { [keyId]: { minimum_valid_until_ts: minimumValidUntilTs } } } };
    const answer = await this.options.client.post(notary.serverName, "/_matrix/key/v2/query", body, { timeoutMs: this.fetchTimeoutMs });
    const items = answer["server_keys"];
    if (!Array.isArray(items)) throw new Error("the notary's answer has no server_keys array");
    const accepted: ServerKeysResponse[] = [];
    for (const item of items) {
      if (!isJsonObject(item) || item["server_name"] !== serverName) continue;
      if (!isSignedByNotary(item, notary)) {
        this.options.logger?.warn({ notary: notary.serverName, serverName }, "keyring: a notary answer lacks the notary's valid signature");
        continue;
      }
      try {
        accepted.push(checkServerKeysResponse(item, serverName));
      } catch (err) {
        this.options.logger?.warn({ err, notary: notary.serverName, serverName }, "keyring: a notary answer is not a valid key response");
      }
    }
    await this.storeResponses(accepted);
  }

  /** A direct fetch for the notary, one at a time per server, and none soon after one failed. */
  private fetchDirectOnce(serverName: string): Promise<void> {
    const failedAt = this.misses.get(`${serverName}\n`);
    if (failedAt !== undefined && this.now() - failedAt < this.retryIntervalMs) return Promise.resolve();
    let running = this.directFetches.get(serverName);
    if (running === undefined) {
      running = this.fetchDirect(serverName)
        .catch((err: unknown) => {
          rememberRecent(this.misses, `${serverName}\n`, this.now(), MAX_MISSES);
          this.options.logger?.warn({ err, serverName }, "keyring: fetching the server's keys failed");
        })
        .finally(() => this.directFetches.delete(serverName));
      this.directFetches.set(serverName, running);
    }
    return running;
  }

  /** GET /_matrix/key/v2/server from the server itself (server-server-api#get_matrixkeyv2server). */
  private async fetchDirect(serverName: string): Promise<void> {
    const answer = await this.options.client.get(serverName, "/_matrix/key/v2/server", { timeoutMs: this.fetchTimeoutMs });
    await this.storeResponses([checkServerKeysResponse(answer, serverName)]);
  }

  private async storeResponses(responses: readonly ServerKeysResponse[]): Promise<void> {
    const fetchedTs = this.now();
    const rows: StoredServerKey[] = [];
    for (const response of responses) {
      this.misses.delete(`${response.serverName}\n`);
      const keyJson = JSON.stringify(response.json);
      for (const key of response.keys) {
        rows.push({
          serverName: response.serverName,
          keyId: key.keyId,
          verifyKey: key.publicKeyBase64,
          validUntilTs: response.validUntilTs,
          expiredTs: key.expiredTs ?? null,
          fetchedTs,
          keyJson,
        });
      }
    }
    // A copy valid for less time than the one we hold (a notary's stale copy, a replay) is not kept.
    const kept: StoredServerKey[] = [];
    for (const row of rows) {
      const existing = await this.options.store.getKey(row.serverName, row.keyId);
      if (existing === undefined || usableUntil(row) >= usableUntil(existing)) kept.push(row);
    }
    await this.options.store.storeKeys(kept);
    // Storage keeps the longest-valid copy of each key; forget ours so the next read asks it.
    for (const row of rows) {
      this.memory.delete(`${row.serverName}\n${row.keyId}`);
      this.misses.delete(`${row.serverName}\n${row.keyId}`);
    }
  }
}
