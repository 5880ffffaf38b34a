// The cache of other servers' media (migration 018): what was fetched of mxc://{server}/{mediaId},
// its file already written and synced under the media store.
import type { Database } from "../database.ts";

export interface RemoteMediaRow {
  readonly serverName: string;
  readonly mediaId: string;
  readonly contentType: string;
  readonly uploadName: string | undefined;
  readonly size: number;
  readonly fetchedTs: number;
}

export class RemoteMediaStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async get(serverName: string, mediaId: string): Promise<RemoteMediaRow | undefined> {
    const row = await this.#db.read("get_remote_media", (db) =>
      db.selectFrom("remote_media").selectAll().where("server_name", "=", serverName).where("media_id", "=", mediaId).executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    return {
      serverName: row.server_name,
      mediaId: row.media_id,
      contentType: row.content_type,
      uploadName: row.upload_name ?? undefined,
      size: Number(row.size),
      fetchedTs: Number(row.fetched_ts),
    };
  }

  /** Records media fetched (its file is synced); a row already there is replaced. */
  async put(row: RemoteMediaRow): Promise<void> {
    await this.#db.write("put_remote_media", async (trx) => {
      await trx.deleteFrom("remote_media").where("server_name", "=", row.serverName).where("media_id", "=", row.mediaId).execute();
      await trx
        .insertInto("remote_media")
        .values({
          server_name: row.serverName,
          media_id: row.mediaId,
          content_type: row.contentType,
          upload_name: row.uploadName ?? null,
          size: row.size,
          fetched_ts: row.fetchedTs,
        })
        .execute();
    });
  }
}
