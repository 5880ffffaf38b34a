// Application services (application-service-api#pushing-events): how far each service's event
// stream has been taken into transactions, and the transactions not yet acknowledged, so that a
// restart neither reuses a transaction ID nor loses or alters a transaction's events.
import type { Migration } from "./migration.ts";

export const appservices: Migration = {
  version: 21,
  name: "appservices",
  async up(db) {
    await db.schema
      .createTable("appservice_stream")
      .addColumn("appservice_id", "text", (col) => col.primaryKey())
      // The room stream position up to which every event is in a stored transaction or is not for
      // the service: where the next start reads the stream on from (appservices/event-forwarder.ts).
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      // The last transaction ID given out (IDs count up from 1 per service).
      .addColumn("last_txn_id", "bigint", (col) => col.notNull())
      .execute();
    await db.schema
      .createTable("appservice_txns")
      .addColumn("appservice_id", "text", (col) => col.notNull())
      .addColumn("txn_id", "bigint", (col) => col.notNull())
      // The request body as first sent (JSON text): retries send it unchanged.
      .addColumn("body", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("appservice_txns_pkey", ["appservice_id", "txn_id"])
      .execute();
  },
};
