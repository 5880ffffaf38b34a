// Users of ours a server admin shadow-banned (Synapse's admin API .../users/{userId}/shadow_ban):
// their requests that would reach others seem to succeed and reach nobody.
import type { Migration } from "./migration.ts";

export const shadowBans: Migration = {
  version: 30,
  name: "shadow-bans",
  async up(db) {
    await db.schema
      .createTable("shadow_banned_users")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("banned_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
