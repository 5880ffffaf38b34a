// When each media was last accessed (downloaded or thumbnailed), for media_retention: media not
// accessed within a lifetime are deleted (Synapse's remote_media_lifetime / local_media_lifetime).
// Accesses are written in batches (media/media-retention.ts), so the value may lag by minutes.
// Rows already there count from when their bytes were stored: fetched_ts for other servers' media,
// upload_ts for ours. Local media created and not yet uploaded keep null: nothing to access, and
// never purged.
import { sql } from "kysely";
import type { Migration } from "./migration.ts";

export const mediaLastAccess: Migration = {
  version: 23,
  name: "media-last-access",
  async up(db) {
    await db.schema.alterTable("remote_media").addColumn("last_access_ts", "bigint").execute();
    await sql`update remote_media set last_access_ts = fetched_ts`.execute(db);
    await db.schema.createIndex("remote_media_last_access").on("remote_media").column("last_access_ts").execute();
    await db.schema.alterTable("local_media").addColumn("last_access_ts", "bigint").execute();
    await sql`update local_media set last_access_ts = upload_ts where upload_ts is not null`.execute(db);
    await db.schema.createIndex("local_media_last_access").on("local_media").column("last_access_ts").execute();
  },
};
