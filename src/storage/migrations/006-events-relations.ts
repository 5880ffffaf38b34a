// Events sent by clients and the relations between events: the transaction IDs of sends
// (client-server-api#transaction-identifiers) and the index of relations, threads and the position
// its consumer has read the room stream to (client-server-api#forming-relationships-between-events,
// modules/threading.md).
import type { Migration } from "./migration.ts";

export const eventsRelations: Migration = {
  version: 6,
  name: "events_relations",
  async up(db) {
    // One row per request that created an event: a retransmission (same device, same endpoint and
    // path, same txnId) finds the event it made. `scope` is the endpoint and its path parameters.
    await db.schema
      .createTable("event_transactions")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("scope", "text", (col) => col.notNull())
      .addColumn("txn_id", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("event_transactions_pkey", ["user_id", "device_id", "scope", "txn_id"])
      .execute();
    // unsigned.transaction_id is looked up by event.
    await db.schema.createIndex("event_transactions_event_idx").on("event_transactions").column("event_id").execute();
    await db.schema.createIndex("event_transactions_created_idx").on("event_transactions").column("created_ts").execute();

    // A child event's `m.relates_to` (rel_type and event_id), while the child is not redacted.
    await db.schema
      .createTable("event_relations")
      .addColumn("event_id", "text", (col) => col.primaryKey())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("relates_to_id", "text", (col) => col.notNull())
      .addColumn("rel_type", "text", (col) => col.notNull())
      .addColumn("event_type", "text", (col) => col.notNull())
      .addColumn("sender", "text", (col) => col.notNull())
      // m.annotation's `key` (modules/event_annotations.md).
      .addColumn("aggregation_key", "text")
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .addColumn("origin_server_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex("event_relations_parent_idx")
      .on("event_relations")
      .columns(["relates_to_id", "rel_type", "stream_ordering"])
      .execute();
    // The threads of a room, ordered by their latest event (GET /threads).
    await db.schema
      .createIndex("event_relations_room_idx")
      .on("event_relations")
      .columns(["room_id", "rel_type", "relates_to_id", "stream_ordering"])
      .execute();

    // Thread roots and their senders, for `include=participated` (modules/threading.md: the sender
    // of the root participates). Null sender: the root is not known here (yet).
    await db.schema
      .createTable("thread_roots")
      .addColumn("thread_id", "text", (col) => col.primaryKey())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("sender", "text")
      .execute();

    // How far the relations index has read the room stream (one row, id 1).
    await db.schema
      .createTable("relations_index_position")
      .addColumn("id", "integer", (col) => col.primaryKey())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .execute();
  },
};
