// Server-side key backups (modules/end_to_end_encryption.md#server-side-key-backups): a user's
// backup versions (numbered 1, 2, ... per user; a deleted one keeps its number and its row, marked
// deleted, so the number is never handed out again) and the session keys stored in each.
import type { JsonObject } from "../../core/json.ts";
import type { Database, Trx } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";

export interface BackupVersion {
  readonly userId: string;
  readonly version: number;
  readonly algorithm: string;
  readonly authData: JsonObject;
  readonly etag: number;
  readonly count: number;
}

export interface BackupSessionKey {
  readonly firstMessageIndex: number;
  readonly forwardedCount: number;
  readonly isVerified: boolean;
  readonly sessionData: JsonObject;
}

export interface BackupKeyEntry extends BackupSessionKey {
  readonly roomId: string;
  readonly sessionId: string;
}

/** The backup's state after a change to its keys: the response of the key endpoints. */
export interface BackupKeysState {
  readonly etag: number;
  readonly count: number;
}

/**
 * Whether an uploaded session key replaces the stored one (#server-side-key-backups): the verified
 * one wins; then the lower first_message_index; then the lower forwarded_count. An equal key keeps
 * what is stored.
 */
export function isBetterSessionKey(candidate: BackupSessionKey, stored: BackupSessionKey): boolean {
  if (candidate.isVerified !== stored.isVerified) return candidate.isVerified;
  if (candidate.firstMessageIndex !== stored.firstMessageIndex) return candidate.firstMessageIndex < stored.firstMessageIndex;
  return candidate.forwardedCount < stored.forwardedCount;
}

async function countKeys(trx: Trx, userId: string, version: number): Promise<number> {
  const row = await trx
    .selectFrom("room_key_backup_keys")
    .select((eb) => eb.fn.countAll<number | string>().as("count"))
    .where("user_id", "=", userId)
    .where("version", "=", version)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

async function liveVersion(trx: Trx, userId: string, version: number) {
  return await trx
    .selectFrom("room_key_backup_versions")
    .selectAll()
    .where("user_id", "=", userId)
    .where("version", "=", version)
    .where("deleted", "=", 0)
    .executeTakeFirst();
}

async function currentVersionRow(trx: Trx, userId: string) {
  return await trx
    .selectFrom("room_key_backup_versions")
    .selectAll()
    .where("user_id", "=", userId)
    .where("deleted", "=", 0)
    .orderBy("version", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** Why a write to a backup's keys was not applied. */
export type BackupWriteRefusal =
  | { readonly refused: "no_backup" }
  | { readonly refused: "wrong_version"; readonly currentVersion: number };

export class KeyBackupStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Creates a backup version, which becomes the current one; returns its number. */
  async createVersion(userId: string, algorithm: string, authData: JsonObject): Promise<number> {
    return await this.#db.write("create_key_backup_version", async (trx) => {
      const last = await trx
        .selectFrom("room_key_backup_versions")
        .select((eb) => eb.fn.max("version").as("max"))
        .where("user_id", "=", userId)
        .executeTakeFirst();
      const version = Number(last?.max ?? 0) + 1;
      await trx
        .insertInto("room_key_backup_versions")
        .values({ user_id: userId, version, algorithm, auth_data: JSON.stringify(authData), etag: 0, deleted: 0 })
        .execute();
      return version;
    });
  }

  /** A backup version that is not deleted, or the current (latest) one when `version` is undefined. */
  async getVersion(userId: string, version: number | undefined): Promise<BackupVersion | undefined> {
    return await this.#db.read("get_key_backup_version", async (trx) => {
      const row = version === undefined ? await currentVersionRow(trx, userId) : await liveVersion(trx, userId, version);
      if (row === undefined) return undefined;
      return {
        userId,
        version: row.version,
        algorithm: row.algorithm,
        authData: JSON.parse(row.auth_data) as JsonObject,
        etag: row.etag,
        count: await countKeys(trx, userId, row.version),
      };
    });
  }

  /** Replaces a live version's auth_data; false when there is no such version. */
  async updateAuthData(userId: string, version: number, authData: JsonObject): Promise<boolean> {
    const result = await this.#db.write("update_key_backup_version", (trx) =>
      trx
        .updateTable("room_key_backup_versions")
        .set({ auth_data: JSON.stringify(authData) })
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .where("deleted", "=", 0)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Deletes a version and its keys. "deleted" for a live version, "already" for one deleted
   * before, "unknown" for a number never handed out.
   */
  async deleteVersion(userId: string, version: number): Promise<"deleted" | "already" | "unknown"> {
    return await this.#db.write("delete_key_backup_version", async (trx) => {
      const row = await trx
        .selectFrom("room_key_backup_versions")
        .select("deleted")
        .where("user_id", "=", userId)
        .where("version", "=", version)
        .executeTakeFirst();
      if (row === undefined) return "unknown";
      if (fromFlag(row.deleted)) return "already";
      await trx.deleteFrom("room_key_backup_keys").where("user_id", "=", userId).where("version", "=", version).execute();
      await trx.updateTable("room_key_backup_versions").set({ deleted: 1 }).where("user_id", "=", userId).where("version", "=", version).execute();
      return "deleted";
    });
  }

  /** Deletes every version of the user's backup and their keys (a deactivated account's). */
  async deleteAllOf(userId: string): Promise<void> {
    await this.#db.write("delete_user_key_backups", async (trx) => {
      await trx.deleteFrom("room_key_backup_keys").where("user_id", "=", userId).execute();
      await trx.updateTable("room_key_backup_versions").set({ deleted: 1 }).where("user_id", "=", userId).execute();
    });
  }

  /**
   * Stores session keys in the backup `version`, which must be the current one; each replaces the
   * stored key of its session only when it is better (isBetterSessionKey). The etag changes when
   * anything was written.
   */
  async putKeys(userId: string, version: number, keys: readonly BackupKeyEntry[]): Promise<BackupKeysState | BackupWriteRefusal> {
    return await this.#db.write("put_key_backup_keys", async (trx) => {
      const current = await currentVersionRow(trx, userId);
      if (current === undefined) return { refused: "no_backup" };
      if (current.version !== version) return { refused: "wrong_version", currentVersion: current.version };
      let changed = false;
      for (const k of keys) {
        const stored = await trx
          .selectFrom("room_key_backup_keys")
          .select(["first_message_index", "forwarded_count", "is_verified"])
          .where("user_id", "=", userId)
          .where("version", "=", version)
          .where("room_id", "=", k.roomId)
          .where("session_id", "=", k.sessionId)
          .executeTakeFirst();
        if (
          stored !== undefined &&
          !isBetterSessionKey(k, { firstMessageIndex: stored.first_message_index, forwardedCount: stored.forwarded_count, isVerified: fromFlag(stored.is_verified), sessionData: {} })
        ) {
          continue;
        }
        const values = {
          first_message_index: k.firstMessageIndex,
          forwarded_count: k.forwardedCount,
          is_verified: toFlag(k.isVerified),
          session_data: JSON.stringify(k.sessionData),
        };
        await trx
          .insertInto("room_key_backup_keys")
          .values({ user_id: userId, version, room_id: k.roomId, session_id: k.sessionId, ...values })
          .onConflict((oc) => oc.columns(["user_id", "version", "room_id", "session_id"]).doUpdateSet(values))
          .execute();
        changed = true;
      }
      const etag = changed ? await bumpEtag(trx, userId, version, current.etag) : current.etag;
      return { etag, count: await countKeys(trx, userId, version) };
    });
  }

  /** The keys of a live version, of one room or one session when given; undefined when there is no such version. */
  async getKeys(userId: string, version: number, roomId?: string, sessionId?: string): Promise<BackupKeyEntry[] | undefined> {
    return await this.#db.read("get_key_backup_keys", async (trx) => {
      if ((await liveVersion(trx, userId, version)) === undefined) return undefined;
      let query = trx.selectFrom("room_key_backup_keys").selectAll().where("user_id", "=", userId).where("version", "=", version);
      if (roomId !== undefined) query = query.where("room_id", "=", roomId);
      if (sessionId !== undefined) query = query.where("session_id", "=", sessionId);
      const rows = await query.orderBy("room_id").orderBy("session_id").execute();
      return rows.map((r) => ({
        roomId: r.room_id,
        sessionId: r.session_id,
        firstMessageIndex: r.first_message_index,
        forwardedCount: r.forwarded_count,
        isVerified: fromFlag(r.is_verified),
        sessionData: JSON.parse(r.session_data) as JsonObject,
      }));
    });
  }

  /** Deletes keys of a live version (all, a room's, or one session's); undefined when there is no such version. */
  async deleteKeys(userId: string, version: number, roomId?: string, sessionId?: string): Promise<BackupKeysState | undefined> {
    return await this.#db.write("delete_key_backup_keys", async (trx) => {
      const row = await liveVersion(trx, userId, version);
      if (row === undefined) return undefined;
      let query = trx.deleteFrom("room_key_backup_keys").where("user_id", "=", userId).where("version", "=", version);
      if (roomId !== undefined) query = query.where("room_id", "=", roomId);
      if (sessionId !== undefined) query = query.where("session_id", "=", sessionId);
      const result = await query.executeTakeFirst();
      const etag = Number(result.numDeletedRows) > 0 ? await bumpEtag(trx, userId, version, row.etag) : row.etag;
      return { etag, count: await countKeys(trx, userId, version) };
    });
  }
}

async function bumpEtag(trx: Trx, userId: string, version: number, etag: number): Promise<number> {
  const next = etag + 1;
  await trx.updateTable("room_key_backup_versions").set({ etag: next }).where("user_id", "=", userId).where("version", "=", version).execute();
  return next;
}
