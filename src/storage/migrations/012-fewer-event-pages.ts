// Fewer B-tree pages written with each event. On SQLite a commit writes every page it changed to
// the WAL and syncs it, so each B-tree an event's rows touch costs every send a page more (about
// 17 pages a message sent, 13 us each on the sync benchmark's machine):
// - events_redacted_ts_idx holds the redacted events alone (the purge of redacted content reads
//   it with `redacted_ts <= ?`, which implies IS NOT NULL on both engines): unredacted events,
//   nearly all of them, no longer add an entry.
// - SQLite: event_transactions is keyed by its primary key alone (WITHOUT ROWID), one B-tree
//   where a rowid table and its primary-key index were two. PostgreSQL has no such choice.
import { sql } from "kysely";
import type { Migration } from "./migration.ts";

export const fewerEventPages: Migration = {
  version: 12,
  name: "fewer-event-pages",
  async up(db, engine) {
    await db.schema.dropIndex("events_redacted_ts_idx").execute();
    await db.schema.createIndex("events_redacted_ts_idx").on("events").column("redacted_ts").where(sql.ref("redacted_ts"), "is not", null).execute();

    if (engine !== "sqlite") return;
    await db.schema
      .createTable("event_transactions_keyed")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("scope", "text", (col) => col.notNull())
      .addColumn("txn_id", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("event_transactions_keyed_pkey", ["user_id", "device_id", "scope", "txn_id"])
      .modifyEnd(sql`without rowid`)
      .execute();
    await sql`insert into event_transactions_keyed (user_id, device_id, scope, txn_id, event_id, created_ts)
      select user_id, device_id, scope, txn_id, event_id, created_ts from event_transactions`.execute(db);
    await db.schema.dropTable("event_transactions").execute();
    await db.schema.alterTable("event_transactions_keyed").renameTo("event_transactions").execute();
    await db.schema.createIndex("event_transactions_event_idx").on("event_transactions").column("event_id").execute();
    await db.schema.createIndex("event_transactions_created_idx").on("event_transactions").column("created_ts").execute();
  },
};
