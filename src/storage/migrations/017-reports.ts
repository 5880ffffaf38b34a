// Reports of content (modules/report_content.md, client-server report_content.yaml): events, rooms
// and users that users reported to the server, kept for its admins to read. One row a report; `kind`
// says which of the three it is, and which of the columns beside it are set.
import { sql } from "kysely";
import type { Migration } from "./migration.ts";
import { addAutoIncrementId } from "./migration.ts";

export const reports: Migration = {
  version: 17,
  name: "reports",
  async up(db, engine) {
    let table = db.schema.createTable("reports");
    // The report's number, in the order received: what an admin pages through.
    table = addAutoIncrementId(table, engine, "id");
    await table
      .addColumn("kind", "text", (col) => col.notNull().check(sql`kind in ('event', 'room', 'user')`))
      .addColumn("reporter_user_id", "text", (col) => col.notNull())
      // Event and room reports: the room; null for user reports.
      .addColumn("room_id", "text")
      // Event reports: the event.
      .addColumn("event_id", "text")
      // User reports: the user reported; event reports: the event's sender.
      .addColumn("target_user_id", "text")
      // The reporter's reason; only an event report may have none (its `reason` is optional).
      .addColumn("reason", "text")
      .addColumn("received_ts", "bigint", (col) => col.notNull())
      .addCheckConstraint(
        "reports_kind_columns",
        sql`(kind = 'event' and room_id is not null and event_id is not null and target_user_id is not null)
          or (kind = 'room' and room_id is not null and event_id is null and target_user_id is null and reason is not null)
          or (kind = 'user' and room_id is null and event_id is null and target_user_id is not null and reason is not null)`,
      )
      .execute();
    // What admins ask of reports besides the newest: those about a room, or about a user.
    await db.schema.createIndex("reports_room_id").on("reports").columns(["room_id", "id"]).execute();
    await db.schema.createIndex("reports_target_user_id").on("reports").columns(["target_user_id", "id"]).execute();
  },
};
