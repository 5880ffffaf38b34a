// Receipts (modules/receipts.md) and presence (modules/presence.md): the two ephemeral streams
// that survive a restart. Typing stays in memory ("the server does not remember users who are not
// currently typing").
import type { Migration } from "./migration.ts";
import { addAutoIncrementId } from "./migration.ts";

export const receiptsPresence: Migration = {
  version: 7,
  name: "receipts_presence",
  async up(db, engine) {
    // Receipts as a stream, like account data: each change replaces the row of its (room, type,
    // user, thread) with a new one whose stream_id is the change's position. modules/receipts.md:
    // "Each user_id, receipt_type, and categorisation (unthreaded, or thread_id) tuple must be
    // associated with only a single event_id". thread_id is '' for an unthreaded receipt.
    const receipts = addAutoIncrementId(db.schema.createTable("receipts"), engine, "stream_id");
    await receipts
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("receipt_type", "text", (col) => col.notNull())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("thread_id", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      // The receipted event's position in the room stream: which of m.read and m.read.private is
      // ahead, and the unread counts, compare these.
      .addColumn("event_stream_ordering", "bigint")
      .addColumn("ts", "bigint", (col) => col.notNull())
      .addUniqueConstraint("receipts_key", ["room_id", "receipt_type", "user_id", "thread_id"])
      .execute();
    await db.schema.createIndex("receipts_room_stream_idx").on("receipts").columns(["room_id", "stream_id"]).execute();
    await db.schema.createIndex("receipts_user_idx").on("receipts").columns(["user_id", "room_id"]).execute();

    // The last presence of each local user (sync/presence.ts keeps the live copy in memory).
    await db.schema
      .createTable("presence")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("presence", "text", (col) => col.notNull())
      .addColumn("status_msg", "text")
      .addColumn("last_active_ts", "bigint", (col) => col.notNull())
      .addColumn("last_sync_ts", "bigint", (col) => col.notNull())
      .addColumn("currently_active", "integer", (col) => col.notNull().defaultTo(0))
      .addColumn("stream_position", "bigint", (col) => col.notNull())
      .execute();
  },
};
