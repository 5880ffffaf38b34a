// The local media repository's rows (migrations 016, 023): one per media ID this server made,
// pending (created by media/v1/create, not yet uploaded) or uploaded, with when it was last
// accessed (for media_retention's local_media_lifetime).
import { sql, type Selectable } from "kysely";
import { userIdOrNameContains } from "../contains-text.ts";
import type { Database } from "../database.ts";
import { toFlag, type LocalMediaTable } from "../schema.ts";

export interface LocalMediaRow {
  readonly mediaId: string;
  readonly userId: string;
  readonly createdTs: number;
  readonly unusedExpiresTs: number | undefined;
  /** Undefined while the media is created and not uploaded. */
  readonly uploadTs: number | undefined;
  readonly contentType: string | undefined;
  readonly uploadName: string | undefined;
  readonly size: number | undefined;
  readonly authenticated: boolean;
  /** When last downloaded or thumbnailed, as written so far (in batches), else uploaded; undefined while pending. */
  readonly lastAccessTs: number | undefined;
}

/** The columns a user's media may be ordered by (Synapse's admin API `order_by`). */
export type UserMediaOrder = "media_id" | "upload_name" | "created_ts" | "last_access_ts" | "size" | "content_type";

export interface UserMediaQuery {
  readonly offset: number;
  readonly limit: number;
  readonly orderBy: UserMediaOrder;
  readonly direction: "f" | "b";
}

/** The orders of the media statistics (Synapse's admin API `order_by`). */
export type MediaUsageOrder = "user_id" | "displayname" | "media_length" | "media_count";

const USAGE_ORDERS = {
  user_id: "users.user_id",
  displayname: "users.displayname",
  media_length: "media_length",
  media_count: "media_count",
} as const satisfies Record<MediaUsageOrder, string>;

export interface MediaUsageQuery {
  readonly offset: number;
  readonly limit: number;
  readonly orderBy: MediaUsageOrder;
  readonly direction: "f" | "b";
  readonly fromTs?: number;
  readonly untilTs?: number;
  readonly search?: string;
}

export interface MediaUsage {
  readonly userId: string;
  readonly displayname: string | null;
  readonly mediaCount: number;
  readonly mediaLength: number;
}

function mediaRowOf(row: Selectable<LocalMediaTable>): LocalMediaRow {
  return {
    mediaId: row.media_id,
    userId: row.user_id,
    createdTs: Number(row.created_ts),
    unusedExpiresTs: row.unused_expires_ts === null ? undefined : Number(row.unused_expires_ts),
    uploadTs: row.upload_ts === null ? undefined : Number(row.upload_ts),
    contentType: row.content_type ?? undefined,
    uploadName: row.upload_name ?? undefined,
    size: row.size === null ? undefined : Number(row.size),
    authenticated: row.authenticated === 1,
    lastAccessTs: row.last_access_ts === null ? undefined : Number(row.last_access_ts),
  };
}

export interface UploadedMedia {
  readonly contentType: string;
  readonly uploadName: string | undefined;
  readonly size: number;
  readonly authenticated: boolean;
}

/** Media IDs per statement: well under either engine's limit on parameters. */
const CHUNK = 500;

function chunks(ids: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += CHUNK) out.push(ids.slice(i, i + CHUNK));
  return out;
}

/**
 * What local_media_lifetime may purge: uploaded media (never one pending upload) not accessed since
 * `beforeTs`, and not any user's avatar (as Synapse keeps profile avatars, whose purge would leave
 * the profile pointing at nothing).
 */
function purgeable(serverName: string, beforeTs: number) {
  return sql<boolean>`local_media.upload_ts is not null and local_media.last_access_ts < ${beforeTs}
    and not exists (select 1 from users where users.avatar_url = ${`mxc://${serverName}/`} || local_media.media_id)`;
}

export class MediaStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Records media uploaded at once (POST /upload): its file is already written and synced. */
  async insertUploaded(mediaId: string, userId: string, now: number, media: UploadedMedia): Promise<void> {
    await this.#db.write("insert_local_media", async (trx) => {
      await trx
        .insertInto("local_media")
        .values({
          media_id: mediaId,
          user_id: userId,
          created_ts: now,
          unused_expires_ts: null,
          upload_ts: now,
          content_type: media.contentType,
          upload_name: media.uploadName ?? null,
          size: media.size,
          authenticated: toFlag(media.authenticated),
          last_access_ts: now,
        })
        .execute();
    });
  }

  /**
   * Records a created media ID (POST /create), unless the user already has `maxPending` pending
   * ones; forgets the pending IDs expired by `now` first. Returns whether it was recorded.
   */
  async insertPending(mediaId: string, userId: string, now: number, expiresTs: number, maxPending: number): Promise<boolean> {
    return await this.#db.write("insert_pending_media", async (trx) => {
      await trx.deleteFrom("local_media").where("upload_ts", "is", null).where("unused_expires_ts", "<=", now).execute();
      const pending = await trx
        .selectFrom("local_media")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("user_id", "=", userId)
        .where("upload_ts", "is", null)
        .executeTakeFirstOrThrow();
      if (Number(pending.n) >= maxPending) return false;
      await trx
        .insertInto("local_media")
        .values({ media_id: mediaId, user_id: userId, created_ts: now, unused_expires_ts: expiresTs, upload_ts: null })
        .execute();
      return true;
    });
  }

  /**
   * Marks a pending media ID uploaded (its file is already written and synced), if it still is
   * pending and not expired by `now`. Returns whether it was.
   */
  async completePending(mediaId: string, now: number, media: UploadedMedia): Promise<boolean> {
    return await this.#db.write("complete_pending_media", async (trx) => {
      const result = await trx
        .updateTable("local_media")
        .set({
          upload_ts: now,
          unused_expires_ts: null,
          content_type: media.contentType,
          upload_name: media.uploadName ?? null,
          size: media.size,
          authenticated: toFlag(media.authenticated),
          last_access_ts: now,
        })
        .where("media_id", "=", mediaId)
        .where("upload_ts", "is", null)
        .where("unused_expires_ts", ">", now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async get(mediaId: string): Promise<LocalMediaRow | undefined> {
    const row = await this.#db.read("get_local_media", (db) =>
      db.selectFrom("local_media").selectAll().where("media_id", "=", mediaId).executeTakeFirst(),
    );
    return row === undefined ? undefined : mediaRowOf(row);
  }

  /** A page of the media a user created, in the order asked (tied by media ID), and how many they have. */
  async byUser(userId: string, query: UserMediaQuery): Promise<{ media: LocalMediaRow[]; total: number }> {
    return await this.#db.read("get_user_local_media", async (db) => {
      const direction = query.direction === "f" ? "asc" : "desc";
      const rows = await db
        .selectFrom("local_media")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy(query.orderBy, direction)
        .orderBy("media_id", direction)
        .limit(query.limit)
        .offset(query.offset)
        .execute();
      const counted = await db.selectFrom("local_media").select((eb) => eb.fn.countAll<number | bigint | string>().as("total")).where("user_id", "=", userId).executeTakeFirstOrThrow();
      return { media: rows.map(mediaRowOf), total: Number(counted.total) };
    });
  }

  /**
   * Who stored how much (Synapse's admin API's media statistics): each user with uploads in the time
   * range (by creation, ms, both ends included) and, when asked, whose user ID or display name holds
   * the search text (whatever the case), with their count and bytes; a page in the order asked
   * (tied by user ID), and how many users match in all.
   */
  async usage(query: MediaUsageQuery): Promise<{ users: MediaUsage[]; total: number }> {
    return await this.#db.read("local_media_usage", async (db) => {
      const matching = () => {
        let q = db.selectFrom("local_media").innerJoin("users", "users.user_id", "local_media.user_id").where("local_media.upload_ts", "is not", null);
        if (query.fromTs !== undefined) q = q.where("local_media.created_ts", ">=", query.fromTs);
        if (query.untilTs !== undefined) q = q.where("local_media.created_ts", "<=", query.untilTs);
        if (query.search !== undefined) q = q.where(userIdOrNameContains(this.#db.engine, query.search));
        return q;
      };
      const direction = query.direction === "f" ? "asc" : "desc";
      const rows = await matching()
        .select(["users.user_id", "users.displayname"])
        .select((eb) => [eb.fn.countAll<number | bigint | string>().as("media_count"), eb.fn.sum<number | bigint | string | null>("local_media.size").as("media_length")])
        .groupBy(["users.user_id", "users.displayname"])
        .orderBy(USAGE_ORDERS[query.orderBy], direction)
        .orderBy("users.user_id", direction)
        .limit(query.limit)
        .offset(query.offset)
        .execute();
      const counted = await matching().select((eb) => eb.fn.count<number | bigint | string>("local_media.user_id").distinct().as("total")).executeTakeFirstOrThrow();
      return {
        users: rows.map((r) => ({ userId: r.user_id, displayname: r.displayname, mediaCount: Number(r.media_count), mediaLength: Number(r.media_length ?? 0) })),
        total: Number(counted.total),
      };
    });
  }

  /** Deletes the rows of these media (an admin's deletion); returns the ones there were, whose files may go. */
  async delete(mediaIds: readonly string[]): Promise<string[]> {
    if (mediaIds.length === 0) return [];
    return await this.#db.write("delete_local_media", async (trx) => {
      const deleted: string[] = [];
      for (const ids of chunks(mediaIds)) {
        for (const r of await trx.deleteFrom("local_media").where("media_id", "in", ids).returning("media_id").execute()) deleted.push(r.media_id);
      }
      return deleted;
    });
  }

  /** Records `ts` as the last access of each uploaded media, unless a later one is already written. */
  async markAccessed(mediaIds: readonly string[], ts: number): Promise<void> {
    if (mediaIds.length === 0) return;
    await this.#db.write("mark_local_media_accessed", async (trx) => {
      for (const ids of chunks(mediaIds)) {
        await trx.updateTable("local_media").set({ last_access_ts: ts }).where("media_id", "in", ids).where("last_access_ts", "<", ts).execute();
      }
    });
  }

  /** Up to `limit` media local_media_lifetime may purge (see purgeable), least recently accessed first. */
  async notAccessedSince(serverName: string, beforeTs: number, limit: number): Promise<string[]> {
    const rows = await this.#db.read("local_media_not_accessed", (db) =>
      db.selectFrom("local_media").select("media_id").where(purgeable(serverName, beforeTs)).orderBy("last_access_ts").limit(limit).execute(),
    );
    return rows.map((r) => r.media_id);
  }

  /**
   * Deletes the rows of those media that may still be purged (an access written meanwhile, or an
   * avatar set, keeps its media); returns the ones deleted, whose files may go.
   */
  async deleteNotAccessedSince(serverName: string, mediaIds: readonly string[], beforeTs: number): Promise<string[]> {
    if (mediaIds.length === 0) return [];
    return await this.#db.write("delete_local_media_not_accessed", async (trx) => {
      const deleted: string[] = [];
      for (const ids of chunks(mediaIds)) {
        const rows = await trx.deleteFrom("local_media").where("media_id", "in", ids).where(purgeable(serverName, beforeTs)).returning("media_id").execute();
        for (const r of rows) deleted.push(r.media_id);
      }
      return deleted;
    });
  }
}
