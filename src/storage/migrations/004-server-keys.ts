// Other servers' signing keys, as fetched from them or from notaries
// (server-server-api#retrieving-server-keys): one row per (server, key ID), with the signed
// response that carried the key, so this server can serve it again as a notary.
import type { Migration } from "./migration.ts";

export const serverKeys: Migration = {
  version: 4,
  name: "server_keys",
  async up(db) {
    await db.schema
      .createTable("server_keys")
      .addColumn("server_name", "text", (col) => col.notNull())
      .addColumn("key_id", "text", (col) => col.notNull())
      // Unpadded base64, as published.
      .addColumn("verify_key", "text", (col) => col.notNull())
      // The response's valid_until_ts, as published (the 7-day cap is applied when reading).
      .addColumn("valid_until_ts", "bigint", (col) => col.notNull())
      // Set when the key came under old_verify_keys: it only verifies what was signed before then.
      .addColumn("expired_ts", "bigint")
      .addColumn("fetched_ts", "bigint", (col) => col.notNull())
      // The key response as received, signatures included, stored as text so its bytes are kept.
      .addColumn("key_json", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("server_keys_pkey", ["server_name", "key_id"])
      .execute();
  },
};
