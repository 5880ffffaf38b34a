// One-time and fallback keys (modules/end_to_end_encryption.md#one-time-and-fallback-keys).
//
// A one-time key is handed out at most once (keys.yaml /keys/claim: "no other request will ever
// return the same key"): a claim deletes the key in the statement that reads it, so of two claims
// racing for one key only one gets a row back (SQLite: one writer; PostgreSQL: the loser of the
// row conflict fails serialization and runs again, finding the next key or none). Claims from this
// process also run one transaction after another (those waiting share the next one), which spares
// PostgreSQL those retries and both engines a commit per claim.
import type { JsonObject } from "../../core/json.ts";
import type { Database, Trx } from "../database.ts";
import { chunks } from "./room-state.ts";

export interface NewKey {
  readonly algorithm: string;
  readonly keyId: string;
  readonly key: JsonObject | string;
}

export interface ClaimRequest {
  readonly userId: string;
  readonly deviceId: string;
  readonly algorithm: string;
}

export interface ClaimedKey extends ClaimRequest {
  readonly keyId: string;
  readonly key: JsonObject | string;
  readonly fallback: boolean;
}

/** An uploaded one-time key whose ID is stored already with other content. */
export class OneTimeKeyConflictError extends Error {
  readonly algorithm: string;
  readonly keyId: string;

  constructor(algorithm: string, keyId: string) {
    super(`one-time key ${algorithm}:${keyId} already exists with different content`);
    this.name = "OneTimeKeyConflictError";
    this.algorithm = algorithm;
    this.keyId = keyId;
  }
}

function claimKey(r: ClaimRequest): string {
  return `${r.userId}\u0000${r.deviceId}\u0000${r.algorithm}`;
}

/** Claims one request's keys inside a write transaction. */
async function claimIn(trx: Trx, requests: readonly ClaimRequest[]): Promise<ClaimedKey[]> {
  const claimed: ClaimedKey[] = [];
  for (const chunk of chunks(requests, 200)) {
    // The oldest key of each (user, device, algorithm), deleted by the statement that finds it:
    // one index seek per device.
    const oldest = chunk.map((r) =>
      trx
        .selectFrom("e2e_one_time_keys")
        .select("id")
        .where("user_id", "=", r.userId)
        .where("device_id", "=", r.deviceId)
        .where("algorithm", "=", r.algorithm)
        .orderBy("id")
        .limit(1),
    );
    const rows = await trx.deleteFrom("e2e_one_time_keys").where("id", "in", oldest).returning(["user_id", "device_id", "algorithm", "key_id", "key_json"]).execute();
    for (const r of rows) {
      claimed.push({ userId: r.user_id, deviceId: r.device_id, algorithm: r.algorithm, keyId: r.key_id, key: parseKey(r.key_json), fallback: false });
    }
  }
  const got = new Set(claimed.map(claimKey));
  const missing = requests.filter((r) => !got.has(claimKey(r)));
  for (const chunk of chunks(missing, 200)) {
    // keys.yaml fallback_keys: "The fallback key is not deleted once used".
    const rows = await trx
      .updateTable("e2e_fallback_keys")
      .set({ used: 1 })
      .where((eb) => eb.or(chunk.map((r) => eb.and([eb("user_id", "=", r.userId), eb("device_id", "=", r.deviceId), eb("algorithm", "=", r.algorithm)]))))
      .returning(["user_id", "device_id", "algorithm", "key_id", "key_json"])
      .execute();
    for (const r of rows) {
      claimed.push({ userId: r.user_id, deviceId: r.device_id, algorithm: r.algorithm, keyId: r.key_id, key: parseKey(r.key_json), fallback: true });
    }
  }
  return claimed;
}

interface PendingClaim {
  readonly requests: readonly ClaimRequest[];
  readonly resolve: (keys: ClaimedKey[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs the claims of one database one transaction at a time, and the claims that arrived while a
 * transaction ran together in the next one (in arrival order, so an earlier claim gets the earlier
 * key): a claim is a write, and committing several at once costs one commit, not several.
 */
class ClaimBatcher {
  readonly #db: Database;
  #pending: PendingClaim[] = [];
  #running = false;

  constructor(db: Database) {
    this.#db = db;
  }

  submit(requests: readonly ClaimRequest[]): Promise<ClaimedKey[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ requests, resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 64);
      try {
        const results = await this.#db.write("claim_one_time_keys", async (trx) => {
          const out: ClaimedKey[][] = [];
          for (const claim of batch) out.push(await claimIn(trx, claim.requests));
          return out;
        });
        batch.forEach((claim, i) => claim.resolve(results[i] ?? []));
      } catch (error) {
        for (const claim of batch) claim.reject(error);
      }
    }
    this.#running = false;
  }
}

const claimBatchers = new WeakMap<Database, ClaimBatcher>();

function parseKey(json: string): JsonObject | string {
  return JSON.parse(json) as JsonObject | string;
}

export class OneTimeKeyStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Adds one-time keys. Keys stored already with the same content are skipped (an upload may be
   * retried); a key ID stored with other content fails the whole upload with OneTimeKeyConflictError.
   */
  async add(userId: string, deviceId: string, keys: readonly NewKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#db.write("add_one_time_keys", async (trx) => {
      const existing = new Map<string, string>();
      for (const chunk of chunks(keys, 500)) {
        const rows = await trx
          .selectFrom("e2e_one_time_keys")
          .select(["algorithm", "key_id", "key_json"])
          .where("user_id", "=", userId)
          .where("device_id", "=", deviceId)
          .where((eb) => eb.or(chunk.map((k) => eb.and([eb("algorithm", "=", k.algorithm), eb("key_id", "=", k.keyId)]))))
          .execute();
        for (const r of rows) existing.set(`${r.algorithm}:${r.key_id}`, r.key_json);
      }
      const fresh: NewKey[] = [];
      for (const k of keys) {
        const stored = existing.get(`${k.algorithm}:${k.keyId}`);
        if (stored === undefined) fresh.push(k);
        else if (stored !== JSON.stringify(k.key)) throw new OneTimeKeyConflictError(k.algorithm, k.keyId);
      }
      for (const chunk of chunks(fresh, 500)) {
        await trx
          .insertInto("e2e_one_time_keys")
          .values(chunk.map((k) => ({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key_json: JSON.stringify(k.key) })))
          .execute();
      }
    });
  }

  /**
   * Sets the device's fallback key of each algorithm (one per algorithm), replacing the previous
   * one. The same key uploaded again keeps its `used` mark.
   */
  async setFallbackKeys(userId: string, deviceId: string, keys: readonly NewKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#db.write("set_fallback_keys", async (trx) => {
      for (const k of keys) {
        const keyJson = JSON.stringify(k.key);
        const existing = await trx
          .selectFrom("e2e_fallback_keys")
          .select(["key_id", "key_json"])
          .where("user_id", "=", userId)
          .where("device_id", "=", deviceId)
          .where("algorithm", "=", k.algorithm)
          .executeTakeFirst();
        if (existing?.key_id === k.keyId && existing.key_json === keyJson) continue;
        await trx
          .insertInto("e2e_fallback_keys")
          .values({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key_json: keyJson, used: 0 })
          .onConflict((oc) => oc.columns(["user_id", "device_id", "algorithm"]).doUpdateSet({ key_id: k.keyId, key_json: keyJson, used: 0 }))
          .execute();
      }
    });
  }

  /** The number of unclaimed one-time keys per algorithm. */
  async counts(userId: string, deviceId: string): Promise<Record<string, number>> {
    const rows = await this.#db.read("count_one_time_keys", (trx) =>
      trx
        .selectFrom("e2e_one_time_keys")
        .select(["algorithm", (eb) => eb.fn.countAll<number | string>().as("count")])
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .groupBy("algorithm")
        .execute(),
    );
    const out: Record<string, number> = {};
    for (const r of rows) out[r.algorithm] = Number(r.count);
    return out;
  }

  /** The algorithms of the device's fallback keys not handed out yet. */
  async unusedFallbackAlgorithms(userId: string, deviceId: string): Promise<string[]> {
    const rows = await this.#db.read("unused_fallback_keys", (trx) =>
      trx
        .selectFrom("e2e_fallback_keys")
        .select("algorithm")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("used", "=", 0)
        .orderBy("algorithm")
        .execute(),
    );
    return rows.map((r) => r.algorithm);
  }

  /**
   * Claims a key for each request: the device's oldest one-time key of the algorithm, removed as it
   * is read; else its fallback key, kept but marked used. Requests with no key get no entry.
   */
  async claim(requests: readonly ClaimRequest[]): Promise<ClaimedKey[]> {
    const unique = [...new Map(requests.map((r) => [claimKey(r), r])).values()];
    if (unique.length === 0) return [];
    let batcher = claimBatchers.get(this.#db);
    if (batcher === undefined) claimBatchers.set(this.#db, (batcher = new ClaimBatcher(this.#db)));
    return await batcher.submit(unique);
  }

  /** Deletes the one-time and fallback keys of deleted devices. */
  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.#db.write("delete_one_time_keys", async (trx) => {
      for (const chunk of chunks(deviceIds)) {
        await trx.deleteFrom("e2e_one_time_keys").where("user_id", "=", userId).where("device_id", "in", chunk).execute();
        await trx.deleteFrom("e2e_fallback_keys").where("user_id", "=", userId).where("device_id", "in", chunk).execute();
      }
    });
  }
}
