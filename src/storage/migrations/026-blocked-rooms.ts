// Rooms a server admin blocked (Synapse's admin API PUT /_synapse/admin/v1/rooms/{roomId}/block):
// users of this server may not join them, knock on them or be invited to them. A room may be
// blocked before this server knows it.
import type { Migration } from "./migration.ts";

export const blockedRooms: Migration = {
  version: 26,
  name: "blocked-rooms",
  async up(db) {
    await db.schema
      .createTable("blocked_rooms")
      .addColumn("room_id", "text", (col) => col.primaryKey())
      .addColumn("blocked_by", "text", (col) => col.notNull())
      .addColumn("blocked_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
