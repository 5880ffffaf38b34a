// Which account an identity provider's user is (single sign-on): the provider's ID (`oidc-...`,
// as Synapse names them) and the subject it gives, as in Synapse's user_external_ids.
import type { Migration } from "./migration.ts";

export const externalIds: Migration = {
  version: 32,
  name: "external-ids",
  async up(db) {
    await db.schema
      .createTable("user_external_ids")
      .addColumn("auth_provider", "text", (col) => col.notNull())
      .addColumn("external_id", "text", (col) => col.notNull())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("added_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("user_external_ids_pkey", ["auth_provider", "external_id"])
      .execute();
    await db.schema.createIndex("user_external_ids_user_idx").on("user_external_ids").column("user_id").execute();
  },
};
