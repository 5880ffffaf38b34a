// The cache of other servers' media (server-server-api#content-repository): one row per
// mxc://{server_name}/{media_id} fetched over federation, whose bytes are a file under the media
// store (media/remote-media.ts remoteMediaPath). A row is written only once its file is synced.
import type { Migration } from "./migration.ts";

export const remoteMedia: Migration = {
  version: 18,
  name: "remote_media",
  async up(db) {
    await db.schema
      .createTable("remote_media")
      .addColumn("server_name", "text", (col) => col.notNull())
      .addColumn("media_id", "text", (col) => col.notNull())
      .addColumn("content_type", "text", (col) => col.notNull())
      .addColumn("upload_name", "text")
      .addColumn("size", "bigint", (col) => col.notNull())
      .addColumn("fetched_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("remote_media_pkey", ["server_name", "media_id"])
      .execute();
  },
};
