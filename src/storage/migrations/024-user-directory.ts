// The user directory (client-server-api#user-directory) gets tables of its own, so that a search
// reads the users matching its words instead of every joined membership with its member event:
// - room_memberships keeps each member event's display name and avatar, so the directory is
//   worked out from the membership index's rows without parsing events (filled here for the rows
//   already there, from their events);
// - user_directory: one row per user joined to some room, with the profile of their latest join
//   and a lower-cased search text (the user ID and every display name of their joins);
// - user_directory_grams: every substring of one to three characters of each word of that text,
//   by user: the index a search looks its words up in (stores/user-directory.ts says why);
// - user_directory_stale: the users whose rows are to be worked out again. The membership index's
//   writes mark the users they change, in the same transactions (stores/memberships.ts); the rows
//   are rewritten in the background, a few users a transaction (rooms/user-directory.ts). Here
//   every user joined already is marked, so a server upgraded from before fills its directory
//   after it starts instead of in the migration.
import { sql } from "kysely";
import type { Migration } from "./migration.ts";

export const userDirectory: Migration = {
  version: 24,
  name: "user-directory",
  async up(db, engine) {
    await db.schema.alterTable("room_memberships").addColumn("display_name", "text").execute();
    await db.schema.alterTable("room_memberships").addColumn("avatar_url", "text").execute();
    // Only string values count (the directory shows strings); a value with a NUL is left out on
    // PostgreSQL, whose text cannot hold one.
    if (engine === "sqlite") {
      const field = (name: string) => sql.raw(`case json_type(e.json, '$.content.${name}') when 'text' then replace(json_extract(e.json, '$.content.${name}'), char(0), '') end`);
      await sql`update room_memberships set display_name = ${field("displayname")}, avatar_url = ${field("avatar_url")}
        from events e where e.event_id = room_memberships.event_id`.execute(db);
    } else {
      const field = (name: string) => sql.raw(`case json_typeof(e.json::json -> 'content' -> '${name}') when 'string' then e.json::json -> 'content' ->> '${name}' end`);
      await sql`update room_memberships set display_name = ${field("displayname")}, avatar_url = ${field("avatar_url")}
        from events e where e.event_id = room_memberships.event_id and strpos(e.json, '\\u0000') = 0`.execute(db);
    }

    await db.schema
      .createTable("user_directory")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("display_name", "text")
      .addColumn("avatar_url", "text")
      .addColumn("search_text", "text", (col) => col.notNull())
      .execute();
    // Looked up by gram, read in user ID order (the order of the results); on SQLite without a
    // rowid, so the primary key is the table.
    let grams = db.schema
      .createTable("user_directory_grams")
      .addColumn("gram", "text", (col) => col.notNull())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("user_directory_grams_pkey", ["gram", "user_id"]);
    if (engine === "sqlite") grams = grams.modifyEnd(sql`without rowid`);
    await grams.execute();

    // The users whose directory rows are to be worked out again, each with a count of the changes
    // marked: the refresh removes a mark only if no change came meanwhile.
    await db.schema
      .createTable("user_directory_stale")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("generation", "bigint", (col) => col.notNull())
      .execute();
    // Every joined user is marked: the server fills their rows in the background once it runs.
    await sql`insert into user_directory_stale (user_id, generation) select distinct user_id, 1 from room_memberships where membership = 'join'`.execute(db);
  },
};
