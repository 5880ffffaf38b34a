// The cache of other servers' media (migrations 018, 023): what was fetched of
// mxc://{server}/{mediaId}, its file already written and synced under the media store, and when it
// was last accessed (for media_retention's remote_media_lifetime).
import type { Database } from "../database.ts";

export interface RemoteMediaKey {
  readonly serverName: string;
  readonly mediaId: string;
}

export interface RemoteMediaRow extends RemoteMediaKey {
  readonly contentType: string;
  readonly uploadName: string | undefined;
  readonly size: number;
  readonly fetchedTs: number;
  /** When last downloaded or thumbnailed, as written so far (accesses are written in batches). */
  readonly lastAccessTs: number;
}

/** Media IDs per statement: well under either engine's limit on parameters. */
const CHUNK = 500;

/** The keys grouped by server, in chunks of media IDs: one `server_name = ? and media_id in (...)` each. */
function byServer(keys: readonly RemoteMediaKey[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const { serverName, mediaId } of keys) {
    let ids = groups.get(serverName);
    if (ids === undefined) groups.set(serverName, (ids = []));
    ids.push(mediaId);
  }
  const chunks: [string, string[]][] = [];
  for (const [serverName, ids] of groups) {
    for (let i = 0; i < ids.length; i += CHUNK) chunks.push([serverName, ids.slice(i, i + CHUNK)]);
  }
  return chunks;
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
      lastAccessTs: Number(row.last_access_ts ?? row.fetched_ts),
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
          last_access_ts: row.lastAccessTs,
        })
        .execute();
    });
  }

  /** Records `ts` as the last access of each media still cached, unless a later one is already written. */
  async markAccessed(keys: readonly RemoteMediaKey[], ts: number): Promise<void> {
    if (keys.length === 0) return;
    await this.#db.write("mark_remote_media_accessed", async (trx) => {
      for (const [serverName, mediaIds] of byServer(keys)) {
        await trx
          .updateTable("remote_media")
          .set({ last_access_ts: ts })
          .where("server_name", "=", serverName)
          .where("media_id", "in", mediaIds)
          .where("last_access_ts", "<", ts)
          .execute();
      }
    });
  }

  /** Up to `limit` cached media not accessed since `beforeTs`, least recently accessed first. */
  async notAccessedSince(beforeTs: number, limit: number): Promise<RemoteMediaKey[]> {
    const rows = await this.#db.read("remote_media_not_accessed", (db) =>
      db
        .selectFrom("remote_media")
        .select(["server_name", "media_id"])
        .where("last_access_ts", "<", beforeTs)
        .orderBy("last_access_ts")
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ serverName: r.server_name, mediaId: r.media_id }));
  }

  /**
   * Deletes the rows of those media that are still not accessed since `beforeTs` (an access
   * written meanwhile keeps its media); returns the ones deleted, whose files may go.
   */
  async deleteNotAccessedSince(keys: readonly RemoteMediaKey[], beforeTs: number): Promise<RemoteMediaKey[]> {
    if (keys.length === 0) return [];
    return await this.#db.write("delete_remote_media_not_accessed", async (trx) => {
      const deleted: RemoteMediaKey[] = [];
      for (const [serverName, mediaIds] of byServer(keys)) {
        const rows = await trx
          .deleteFrom("remote_media")
          .where("server_name", "=", serverName)
          .where("media_id", "in", mediaIds)
          .where("last_access_ts", "<", beforeTs)
          .returning("media_id")
          .execute();
        for (const r of rows) deleted.push({ serverName, mediaId: r.media_id });
      }
      return deleted;
    });
  }
}
