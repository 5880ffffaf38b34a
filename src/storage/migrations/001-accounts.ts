// Accounts: users, their devices, and the access tokens devices log in with.
// client-server-api#relationship-between-access-tokens-and-devices
import type { Migration } from "./migration.ts";
import { addAutoIncrementId, addFlagColumn } from "./migration.ts";

export const accounts: Migration = {
  version: 1,
  name: "accounts",
  async up(db, engine) {
    let users = db.schema
      .createTable("users")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      // Null for accounts that cannot log in with a password (guests, SSO, appservice users).
      .addColumn("password_hash", "text");
    users = addFlagColumn(users, "is_admin");
    users = addFlagColumn(users, "is_guest");
    users = addFlagColumn(users, "deactivated");
    await users
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("displayname", "text")
      .addColumn("avatar_url", "text")
      .execute();

    await db.schema
      .createTable("devices")
      .addColumn("user_id", "text", (col) => col.notNull().references("users.user_id"))
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("display_name", "text")
      .addColumn("last_seen_ts", "bigint")
      .addColumn("last_seen_ip", "text")
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("devices_pkey", ["user_id", "device_id"])
      .execute();

    const tokens = addAutoIncrementId(db.schema.createTable("access_tokens"), engine, "id");
    await tokens
      // Only a hash of the token is kept: a leaked database does not leak sessions.
      .addColumn("token_hash", "text", (col) => col.notNull().unique())
      .addColumn("user_id", "text", (col) => col.notNull().references("users.user_id"))
      // Null for a token that belongs to no device (none are made yet; kept for admin tokens).
      .addColumn("device_id", "text")
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addColumn("expires_ts", "bigint")
      // The refresh token this access token was issued with; its table comes with refresh tokens.
      .addColumn("refresh_token_id", "bigint")
      // No cascade: deleting a device must delete its tokens explicitly, in the same transaction.
      .addForeignKeyConstraint("access_tokens_device_fkey", ["user_id", "device_id"], "devices", ["user_id", "device_id"])
      .execute();
    await db.schema
      .createIndex("access_tokens_device_idx")
      .on("access_tokens")
      .columns(["user_id", "device_id"])
      .execute();
  },
};
