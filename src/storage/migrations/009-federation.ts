// Federation of rooms (server-server-api#transactions): what is queued for each destination
// server (so that a restart resumes sending), each destination's retry state, the transactions
// received (so that a retried transaction gets the same answer), and invites received for our
// users to rooms this server is not in (server-server-api#inviting-to-a-room).
import type { Migration } from "./migration.ts";
import { addAutoIncrementId, addFlagColumn } from "./migration.ts";

export const federation: Migration = {
  version: 9,
  name: "federation",
  async up(db, engine) {
    // PDUs queued for a destination: the event is read from the room engine when sent.
    await addAutoIncrementId(db.schema.createTable("federation_outbox_pdus"), engine, "id")
      .addColumn("destination", "text", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("federation_outbox_pdus_destination_idx").on("federation_outbox_pdus").columns(["destination", "id"]).execute();

    // EDUs queued for a destination, as they will be sent.
    await addAutoIncrementId(db.schema.createTable("federation_outbox_edus"), engine, "id")
      .addColumn("destination", "text", (col) => col.notNull())
      .addColumn("edu_type", "text", (col) => col.notNull())
      // The EDU's content as JSON text.
      .addColumn("content", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("federation_outbox_edus_destination_idx").on("federation_outbox_edus").columns(["destination", "id"]).execute();

    // Destinations that failed: when to try again, and whether to catch up (latest events only).
    let destinations = db.schema
      .createTable("federation_destinations")
      .addColumn("destination", "text", (col) => col.primaryKey())
      .addColumn("failure_count", "integer", (col) => col.notNull())
      .addColumn("retry_after_ts", "bigint", (col) => col.notNull());
    destinations = addFlagColumn(destinations, "catching_up");
    await destinations.execute();

    // Transactions received: (origin, txnId) -> the response given.
    await db.schema
      .createTable("federation_received_txns")
      .addColumn("origin", "text", (col) => col.notNull())
      .addColumn("txn_id", "text", (col) => col.notNull())
      .addColumn("response_json", "text", (col) => col.notNull())
      .addColumn("received_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("federation_received_txns_pkey", ["origin", "txn_id"])
      .execute();
    await db.schema.createIndex("federation_received_txns_ts_idx").on("federation_received_txns").column("received_ts").execute();

    // Invites of our users to rooms we are not in: the invite event as we signed it, and the
    // room state the inviting server gave to describe the room.
    await db.schema
      .createTable("federation_invites")
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("event_id", "text", (col) => col.notNull())
      .addColumn("room_version", "text", (col) => col.notNull())
      .addColumn("origin", "text", (col) => col.notNull())
      .addColumn("event_json", "text", (col) => col.notNull())
      .addColumn("invite_room_state", "text", (col) => col.notNull())
      .addColumn("received_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("federation_invites_pkey", ["room_id", "user_id"])
      .execute();
    await db.schema.createIndex("federation_invites_user_idx").on("federation_invites").column("user_id").execute();
  },
};
