// Other servers' signing keys (server-server-api#retrieving-server-keys), by (server, key ID).
import type { Selectable } from "kysely";
import type { Database } from "../database.ts";
import type { ServerKeysTable } from "../schema.ts";

export interface StoredServerKey {
  readonly serverName: string;
  readonly keyId: string;
  /** Unpadded base64 public key. */
  readonly verifyKey: string;
  /** The `valid_until_ts` of the response that carried the key. */
  readonly validUntilTs: number;
  /** Set for a key listed under `old_verify_keys`. */
  readonly expiredTs: number | null;
  readonly fetchedTs: number;
  /** The signed key response, as received. */
  readonly keyJson: string;
}

function toKey(row: Selectable<ServerKeysTable>): StoredServerKey {
  return {
    serverName: row.server_name,
    keyId: row.key_id,
    verifyKey: row.verify_key,
    validUntilTs: row.valid_until_ts,
    expiredTs: row.expired_ts,
    fetchedTs: row.fetched_ts,
    keyJson: row.key_json,
  };
}

export class ServerKeyStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores keys, replacing what is stored under the same (server, key ID). */
  async storeKeys(keys: readonly StoredServerKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#db.write("store_server_keys", async (trx) => {
      for (const key of keys) {
        const row = {
          server_name: key.serverName,
          key_id: key.keyId,
          verify_key: key.verifyKey,
          valid_until_ts: key.validUntilTs,
          expired_ts: key.expiredTs,
          fetched_ts: key.fetchedTs,
          key_json: key.keyJson,
        };
        await trx
          .insertInto("server_keys")
          .values(row)
          .onConflict((oc) => oc.columns(["server_name", "key_id"]).doUpdateSet({ ...row }))
          .execute();
      }
    });
  }

  async getKey(serverName: string, keyId: string): Promise<StoredServerKey | undefined> {
    const row = await this.#db.read("get_server_key", (trx) =>
      trx.selectFrom("server_keys").selectAll().where("server_name", "=", serverName).where("key_id", "=", keyId).executeTakeFirst(),
    );
    return row === undefined ? undefined : toKey(row);
  }

  /** Every stored key of a server, the longest valid first. */
  async getKeys(serverName: string): Promise<StoredServerKey[]> {
    const rows = await this.#db.read("get_server_keys", (trx) =>
      trx
        .selectFrom("server_keys")
        .selectAll()
        .where("server_name", "=", serverName)
        .orderBy("valid_until_ts", "desc")
        .orderBy("key_id")
        .execute(),
    );
    return rows.map(toKey);
  }
}
