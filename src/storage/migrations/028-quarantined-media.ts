// Media a server admin quarantined (Synapse's admin API): ours or other servers', served to nobody
// while quarantined; the files stay. Media may be quarantined before this server fetched them.
import type { Migration } from "./migration.ts";

export const quarantinedMedia: Migration = {
  version: 28,
  name: "quarantined-media",
  async up(db) {
    await db.schema
      .createTable("quarantined_media")
      .addColumn("server_name", "text", (col) => col.notNull())
      .addColumn("media_id", "text", (col) => col.notNull())
      .addColumn("quarantined_by", "text", (col) => col.notNull())
      .addColumn("quarantined_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("quarantined_media_pk", ["server_name", "media_id"])
      .execute();
  },
};
