// Account suspension (client-server-api#account-suspension): the accounts a server admin suspended,
// until they lift it. A suspended account keeps its sessions and may read, but not act in rooms.
import type { Migration } from "./migration.ts";

export const accountSuspensions: Migration = {
  version: 14,
  name: "account-suspensions",
  async up(db) {
    await db.schema
      .createTable("account_suspensions")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("suspended_ts", "bigint", (col) => col.notNull())
      .execute();
  },
};
