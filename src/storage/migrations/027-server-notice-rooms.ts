// Each user's server notices room (modules/server_notices.md: "Servers should manage exactly 1
// server notices room per user"), made the first time a notice is sent to them.
import type { Migration } from "./migration.ts";

export const serverNoticeRooms: Migration = {
  version: 27,
  name: "server-notice-rooms",
  async up(db) {
    await db.schema
      .createTable("server_notice_rooms")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("room_id", "text", (col) => col.notNull())
      .execute();
  },
};
