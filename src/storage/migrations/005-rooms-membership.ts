// Rooms and membership (issue 5): the membership index kept from the roomserver's outputs (every
// user's current membership of every room, the log of its changes, and the positions it has
// applied), room aliases (client-server-api#room-aliases) and the published room directory
// (client-server-api#published-room-directory).
import type { Migration } from "./migration.ts";
import { addFlagColumn } from "./migration.ts";

export const roomsMembership: Migration = {
  version: 5,
  name: "rooms_membership",
  async up(db) {
    // The current m.room.member state of every (room, user), local and remote users alike.
    let memberships = db.schema
      .createTable("room_memberships")
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("user_id", "text", (col) => col.notNull())
      // The user ID's server: serversInRoom reads it without parsing every member.
      .addColumn("server_name", "text", (col) => col.notNull())
      .addColumn("membership", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      // Where the change became current: the position of the output that carried it.
      .addColumn("stream_ordering", "bigint", (col) => col.notNull());
    // Set by /forget (client-server-api#leaving-rooms); any later membership event clears it.
    memberships = addFlagColumn(memberships, "forgotten");
    await memberships.addPrimaryKeyConstraint("room_memberships_pkey", ["room_id", "user_id"]).execute();
    await db.schema.createIndex("room_memberships_user_idx").on("room_memberships").columns(["user_id", "membership"]).execute();
    await db.schema.createIndex("room_memberships_room_idx").on("room_memberships").columns(["room_id", "membership"]).execute();

    // Every membership change applied, by position: sync reads a user's changes between two tokens.
    await db.schema
      .createTable("membership_changes")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("membership", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("membership_changes_pkey", ["user_id", "stream_ordering", "room_id"])
      .execute();

    // The last room-stream position applied per room: a room's outputs arrive in order, so a
    // position at or below this one is applied already (which makes replays idempotent).
    await db.schema
      .createTable("membership_index_rooms")
      .addColumn("room_id", "text", (col) => col.primaryKey())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .execute();

    // One row: the position up to which every room is applied; catch-up scans the stream after it.
    await db.schema
      .createTable("membership_index_position")
      .addColumn("id", "integer", (col) => col.primaryKey())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .execute();

    await db.schema
      .createTable("room_aliases")
      .addColumn("room_alias", "text", (col) => col.primaryKey())
      .addColumn("room_id", "text", (col) => col.notNull())
      // Who created it: they may delete it without the power to (client-server-api#delete_matrixclientv3directoryroomroomalias).
      .addColumn("creator", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("room_aliases_room_idx").on("room_aliases").column("room_id").execute();

    // The rooms published in this server's room directory (visibility "public").
    await db.schema
      .createTable("room_directory")
      .addColumn("room_id", "text", (col) => col.primaryKey())
      .addColumn("published_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
