// The local media repository (client-server-api#content-repository): one row per media ID this
// server made, by POST /_matrix/media/v3/upload (uploaded at once) or POST /_matrix/media/v1/create
// (created first, uploaded later by PUT /_matrix/media/v3/upload/{serverName}/{mediaId}). The bytes
// are files under the media store (media/media-rules.ts localMediaPath); a row says uploaded only
// once its file is written and synced.
import type { Migration } from "./migration.ts";
import { addFlagColumn } from "./migration.ts";

export const media: Migration = {
  version: 16,
  name: "media",
  async up(db) {
    let table = db.schema
      .createTable("local_media")
      .addColumn("media_id", "text", (col) => col.primaryKey())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      // Set while the ID is created and not uploaded: when it may no longer be (media/v1/create unused_expires_at).
      .addColumn("unused_expires_ts", "bigint")
      // Null until the bytes are stored.
      .addColumn("upload_ts", "bigint")
      .addColumn("content_type", "text")
      .addColumn("upload_name", "text")
      .addColumn("size", "bigint");
    // Uploaded while unauthenticated media was frozen (client-server-api#content-repo-client-behaviour):
    // served by the authenticated endpoints only.
    table = addFlagColumn(table, "authenticated");
    await table.execute();
    await db.schema.createIndex("local_media_pending").on("local_media").columns(["user_id", "unused_expires_ts"]).execute();
  },
};
