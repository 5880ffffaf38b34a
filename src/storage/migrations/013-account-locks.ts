// Account locking (client-server-api#account-locking): the accounts a server admin locked, until
// they unlock them. A lock keeps the account's sessions (they answer M_USER_LOCKED meanwhile).
import type { Migration } from "./migration.ts";

export const accountLocks: Migration = {
  version: 13,
  name: "account-locks",
  async up(db) {
    await db.schema
      .createTable("account_locks")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("locked_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
