// OpenID tokens (client-server-api#openid, POST /user/{userId}/openid/request_token): tokens a
// user hands to a third party, which exchanges them for the user's ID with
// GET /_matrix/federation/v1/openid/userinfo. Stored by hash, until they expire.
import type { Migration } from "./migration.ts";

export const openidTokens: Migration = {
  version: 11,
  name: "openid-tokens",
  async up(db) {
    await db.schema
      .createTable("openid_tokens")
      .addColumn("token_hash", "text", (col) => col.primaryKey())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("expires_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("openid_tokens_expires_ts").on("openid_tokens").column("expires_ts").execute();
  },
};
