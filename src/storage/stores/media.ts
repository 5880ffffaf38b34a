// The local media repository's rows (migration 016): one per media ID this server made, pending
// (created by media/v1/create, not yet uploaded) or uploaded.
import type { Database } from "../database.ts";
import { toFlag } from "../schema.ts";

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
}

export interface UploadedMedia {
  readonly contentType: string;
  readonly uploadName: string | undefined;
  readonly size: number;
  readonly authenticated: boolean;
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
    if (row === undefined) return undefined;
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
    };
  }
}
