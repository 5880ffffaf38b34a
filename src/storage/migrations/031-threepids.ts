// Third-party identifiers (client-server-api#adding-account-administrative-contact-information):
// the 3PIDs of our users, the sessions in which the homeserver validates an address it mailed a
// token to, and which identity servers a user bound each 3PID to (so that they can be unbound).
import type { Migration } from "./migration.ts";

export const threepids: Migration = {
  version: 31,
  name: "threepids",
  async up(db) {
    await db.schema
      .createTable("user_threepids")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("medium", "text", (col) => col.notNull())
      // Canonical (appendices#3pid-types): email addresses case-folded.
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("validated_at", "bigint", (col) => col.notNull())
      .addColumn("added_at", "bigint", (col) => col.notNull())
      // administrative_contact.yaml /3pid/add: one account per 3PID on the homeserver.
      .addPrimaryKeyConstraint("user_threepids_pkey", ["medium", "address"])
      .execute();
    await db.schema.createIndex("user_threepids_user_idx").on("user_threepids").column("user_id").execute();

    await db.schema
      .createTable("threepid_validation_sessions")
      .addColumn("session_id", "text", (col) => col.primaryKey())
      .addColumn("medium", "text", (col) => col.notNull())
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("client_secret", "text", (col) => col.notNull())
      .addColumn("token", "text", (col) => col.notNull())
      .addColumn("send_attempt", "bigint", (col) => col.notNull())
      .addColumn("next_link", "text")
      .addColumn("validated_at", "bigint")
      .addColumn("last_send_attempt_ts", "bigint", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("expires_ts", "bigint", (col) => col.notNull())
      .execute();
    // request_email_validation.yaml: send_attempt is "scoped to that email + client_secret pair".
    await db.schema.createIndex("threepid_validation_sessions_secret_idx").on("threepid_validation_sessions").columns(["medium", "address", "client_secret"]).execute();
    await db.schema.createIndex("threepid_validation_sessions_expiry_idx").on("threepid_validation_sessions").column("expires_ts").execute();

    await db.schema
      .createTable("user_threepid_id_servers")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("medium", "text", (col) => col.notNull())
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("id_server", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("user_threepid_id_servers_pkey", ["user_id", "medium", "address", "id_server"])
      .execute();
  },
};
