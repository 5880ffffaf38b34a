// The jobs of Synapse's admin API for redacting a user's events (POST /_synapse/admin/v1/user/{userId}/redact):
// one row a job, written when it is asked for, so that a job the process was killed in the middle
// of is run again at the next start (it picks up where it was: what it redacted is skipped), and its
// status can be read until a day after it ended.
import type { Migration } from "./migration.ts";

export const adminRedactions: Migration = {
  version: 25,
  name: "admin-redactions",
  async up(db) {
    await db.schema
      .createTable("admin_redactions")
      .addColumn("redact_id", "text", (col) => col.primaryKey())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("admin_user_id", "text", (col) => col.notNull())
      // The request as the admin made it (JSON): rooms, reason, limit, use_admin, after_ts, before_ts.
      .addColumn("request", "text", (col) => col.notNull())
      .addColumn("status", "text", (col) => col.notNull())
      // The events that could not be redacted, with why (a JSON object), as far as the job got.
      .addColumn("failed", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("finished_ts", "bigint")
      .execute();
    await db.schema.createIndex("admin_redactions_status_idx").on("admin_redactions").column("status").execute();
  },
};
