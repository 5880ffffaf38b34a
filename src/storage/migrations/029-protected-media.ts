// Media of ours a server admin protected from quarantine (Synapse's admin API .../media/protect):
// a room's or a user's media quarantined all at once leave them out.
import type { Migration } from "./migration.ts";

export const protectedMedia: Migration = {
  version: 29,
  name: "protected-media",
  async up(db) {
    await db.schema.createTable("protected_media").addColumn("media_id", "text", (col) => col.primaryKey()).execute();
  },
};
