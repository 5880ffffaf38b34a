// Accounts and sessions: refresh and login tokens, registration tokens, profile fields, account data
// (a stream), filters, and the users whose data was erased.
// client-server-api#client-authentication, #account-registration, #profiles, #filtering,
// modules/account_data.md
import { sql } from "kysely";
import type { Migration } from "./migration.ts";
import { addAutoIncrementId } from "./migration.ts";

export const accountsSessions: Migration = {
  version: 2,
  name: "accounts_sessions",
  async up(db, engine) {
    // Login matches localparts case-insensitively (as Synapse does): an index on the lowered ID.
    await db.schema
      .createIndex("users_lower_user_id_idx")
      .on("users")
      .expression(sql`lower(user_id)`)
      .execute();

    // client-server-api#refreshing-access-tokens. A refresh token points at the one issued when it was
    // used (`next_token_id`); it is revoked once that successor or its access token is used.
    const refresh = addAutoIncrementId(db.schema.createTable("refresh_tokens"), engine, "id");
    await refresh
      .addColumn("token_hash", "text", (col) => col.notNull().unique())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("expires_ts", "bigint")
      .addColumn("next_token_id", "bigint")
      // No cascade: deleting a device deletes its refresh tokens explicitly, in the same transaction.
      .addForeignKeyConstraint("refresh_tokens_device_fkey", ["user_id", "device_id"], "devices", ["user_id", "device_id"])
      .execute();
    await db.schema.createIndex("refresh_tokens_device_idx").on("refresh_tokens").columns(["user_id", "device_id"]).execute();
    await db.schema.createIndex("refresh_tokens_next_idx").on("refresh_tokens").column("next_token_id").execute();
    await db.schema.createIndex("access_tokens_refresh_idx").on("access_tokens").column("refresh_token_id").execute();

    // m.login.token (client-server-api#login): short-lived and single-use, stored by hash.
    await db.schema
      .createTable("login_tokens")
      .addColumn("token_hash", "text", (col) => col.primaryKey())
      .addColumn("user_id", "text", (col) => col.notNull().references("users.user_id"))
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("expires_ts", "bigint", (col) => col.notNull())
      .execute();

    // m.login.registration_token (client-server-api#token-authenticated-registration), with the
    // fields of Synapse's admin API: uses_allowed, pending, completed, expiry_time.
    await db.schema
      .createTable("registration_tokens")
      .addColumn("token", "text", (col) => col.primaryKey())
      .addColumn("uses_allowed", "integer")
      .addColumn("pending", "integer", (col) => col.notNull().defaultTo(0))
      .addColumn("completed", "integer", (col) => col.notNull().defaultTo(0))
      .addColumn("expiry_time", "bigint")
      .execute();

    // Profile fields beyond displayname and avatar_url (which live on users): v1.16's custom fields.
    await db.schema
      .createTable("profile_fields")
      .addColumn("user_id", "text", (col) => col.notNull().references("users.user_id"))
      .addColumn("field_name", "text", (col) => col.notNull())
      .addColumn("value_json", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("profile_fields_pkey", ["user_id", "field_name"])
      .execute();

    // Account data as a stream: each change gets a new, larger stream_id (its row is replaced), so
    // "what changed since position N" is `stream_id > N`. room_id is '' for global account data.
    const accountData = addAutoIncrementId(db.schema.createTable("account_data"), engine, "stream_id");
    await accountData
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("type", "text", (col) => col.notNull())
      .addColumn("content", "text", (col) => col.notNull())
      .addUniqueConstraint("account_data_key", ["user_id", "room_id", "type"])
      .execute();
    await db.schema.createIndex("account_data_user_stream_idx").on("account_data").columns(["user_id", "stream_id"]).execute();

    // client-server-api#filtering: filters as uploaded, by a numeric ID (never starting with `{`).
    const filters = addAutoIncrementId(db.schema.createTable("filters"), engine, "filter_id");
    await filters
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("filter_json", "text", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("filters_user_idx").on("filters").column("user_id").execute();

    // Users deactivated with `erase: true`: their events are to be served redacted to new joiners.
    await db.schema
      .createTable("erased_users")
      .addColumn("user_id", "text", (col) => col.primaryKey().references("users.user_id"))
      .addColumn("erased_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
