// The first schema of the identity service: its settings (the lookup pepper), accounts and their
// accepted terms, validation sessions, associations, stored invitations and the queue of
// /3pid/onbind notifications still to deliver.
import type { Migration } from "../../storage/migrations/migration.ts";
import { addAutoIncrementId } from "../../storage/migrations/migration.ts";

export const identityService: Migration = {
  version: 1,
  name: "identity_service",
  async up(db, engine) {
    // Values made once and kept for good (the lookup pepper).
    await db.schema
      .createTable("is_settings")
      .addColumn("name", "text", (col) => col.primaryKey())
      .addColumn("value", "text", (col) => col.notNull())
      .execute();

    // identity-service-api#authentication: the tokens /account/register issues, kept as their
    // SHA-256 so that a copy of the database holds no usable token.
    await db.schema
      .createTable("is_access_tokens")
      .addColumn("token_hash", "text", (col) => col.primaryKey())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("is_access_tokens_user").on("is_access_tokens").column("user_id").execute();

    // identity-service-api#terms-of-service: every policy URL a user accepted, appended to.
    await db.schema
      .createTable("is_accepted_terms")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("url", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("is_accepted_terms_pkey", ["user_id", "url"])
      .execute();

    // identity-service-api#establishing-associations: one session per (medium, address,
    // client_secret); modified_ts is when it was made or last validated (its 24 hours count from there).
    await db.schema
      .createTable("is_validation_sessions")
      .addColumn("sid", "text", (col) => col.primaryKey())
      .addColumn("medium", "text", (col) => col.notNull())
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("client_secret", "text", (col) => col.notNull())
      .addColumn("token", "text", (col) => col.notNull())
      .addColumn("send_attempt", "bigint", (col) => col.notNull())
      .addColumn("next_link", "text")
      .addColumn("modified_ts", "bigint", (col) => col.notNull())
      .addColumn("validated_ts", "bigint")
      .addUniqueConstraint("is_validation_sessions_threepid", ["medium", "address", "client_secret"])
      .execute();

    // The published associations: one Matrix user per 3PID; lookup_hash is the sha256 lookup form
    // under the current pepper (identity-service-api#sha256).
    await db.schema
      .createTable("is_associations")
      .addColumn("medium", "text", (col) => col.notNull())
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("mxid", "text", (col) => col.notNull())
      .addColumn("lookup_hash", "text", (col) => col.notNull())
      .addColumn("ts", "bigint", (col) => col.notNull())
      .addColumn("not_before", "bigint", (col) => col.notNull())
      .addColumn("not_after", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("is_associations_pkey", ["medium", "address"])
      .execute();
    await db.schema.createIndex("is_associations_lookup_hash").on("is_associations").column("lookup_hash").execute();

    // identity-service-api#invitation-storage: the invitations /store-invite took, with their
    // ephemeral public key; queued_ts is set once a bind of the address queued them for /3pid/onbind.
    await db.schema
      .createTable("is_invites")
      .addColumn("token", "text", (col) => col.primaryKey())
      .addColumn("medium", "text", (col) => col.notNull())
      .addColumn("address", "text", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("sender", "text", (col) => col.notNull())
      .addColumn("ephemeral_public_key", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("queued_ts", "bigint")
      .execute();
    await db.schema.createIndex("is_invites_threepid").on("is_invites").columns(["medium", "address"]).execute();
    await db.schema.createIndex("is_invites_ephemeral_key").on("is_invites").column("ephemeral_public_key").execute();

    // The /3pid/onbind requests not yet delivered, tried again later while the homeserver cannot be reached.
    await addAutoIncrementId(db.schema.createTable("is_onbind_queue"), engine, "id")
      .addColumn("destination", "text", (col) => col.notNull())
      .addColumn("body", "text", (col) => col.notNull())
      .addColumn("attempts", "integer", (col) => col.notNull())
      .addColumn("next_attempt_ts", "bigint", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
