// Rooms: events (with numeric IDs), their prev and auth edges, the state of the room at each event
// stored as state groups (stores/room-state.ts), forward extremities, the timeline stream and
// redactions. server-server-api#pdus, #room-state-resolution.
import { sql } from "kysely";
import type { Migration } from "./migration.ts";
import { addAutoIncrementId, addFlagColumn } from "./migration.ts";

export const rooms: Migration = {
  version: 3,
  name: "rooms",
  async up(db, engine) {
    const blob = engine === "sqlite" ? "blob" : "bytea";
    // SQLite: an INTEGER PRIMARY KEY is the rowid itself (a BIGINT one would be a second index),
    // and tables keyed by their whole primary key store their rows in it (WITHOUT ROWID).
    const nidKey = engine === "sqlite" ? "integer" : "bigint";
    const withoutRowId = engine === "sqlite" ? sql`without rowid` : sql``;

    await addAutoIncrementId(db.schema.createTable("rooms"), engine, "room_nid")
      .addColumn("room_id", "text", (col) => col.notNull().unique())
      .addColumn("room_version", "text", (col) => col.notNull())
      // The state group of the room's current state: the resolution of its forward extremities.
      .addColumn("current_state_group", "bigint")
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .execute();

    // The (type, state_key) pairs of state, by number: state groups store these nids.
    await addAutoIncrementId(db.schema.createTable("state_keys"), engine, "state_key_nid")
      .addColumn("type", "text", (col) => col.notNull())
      .addColumn("state_key", "text", (col) => col.notNull())
      .addUniqueConstraint("state_keys_type_state_key_key", ["type", "state_key"])
      .execute();

    // A state group is a full map (level 0) or the keys that differ from its base group.
    await addAutoIncrementId(db.schema.createTable("state_groups"), engine, "state_group")
      .addColumn("room_nid", "bigint", (col) => col.notNull().references("rooms.room_nid"))
      .addColumn("level", "integer", (col) => col.notNull())
      .addColumn("base_group", "bigint", (col) => col.references("state_groups.state_group"))
      .addColumn("root_group", "bigint", (col) => col.references("state_groups.state_group"))
      // How many keys the full state holds.
      .addColumn("size", "integer", (col) => col.notNull())
      .addColumn("delta", blob, (col) => col.notNull())
      .execute();

    let events = addAutoIncrementId(db.schema.createTable("events"), engine, "event_nid")
      .addColumn("event_id", "text", (col) => col.notNull().unique())
      .addColumn("room_nid", "bigint", (col) => col.notNull().references("rooms.room_nid"))
      .addColumn("type", "text", (col) => col.notNull())
      // Set on state events: their (type, state_key).
      .addColumn("state_key_nid", "bigint", (col) => col.references("state_keys.state_key_nid"))
      .addColumn("sender", "text", (col) => col.notNull())
      .addColumn("depth", "bigint", (col) => col.notNull())
      .addColumn("origin_server_ts", "bigint", (col) => col.notNull());
    events = addFlagColumn(events, "outlier");
    events = addFlagColumn(events, "soft_failed");
    events = addFlagColumn(events, "backfilled");
    events = addFlagColumn(events, "content_purged");
    await events
      // Set when the event was rejected (server-server-api#rejection): why.
      .addColumn("rejected_reason", "text")
      // The PDU as received (its redacted form when its content hash did not match).
      .addColumn("json", "text", (col) => col.notNull())
      // The m.room.redaction that redacted the event, and when; the content goes after a retention.
      .addColumn("redacted_by", "bigint")
      .addColumn("redacted_ts", "bigint")
      .addColumn("received_ts", "bigint", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("events_redacted_ts_idx").on("events").column("redacted_ts").execute();

    // The state before and after each event, as state groups; outliers have no row (their state is
    // not known). Kept apart from events because a group holds its own event's nid.
    await db.schema
      .createTable("event_state")
      .addColumn("event_nid", nidKey, (col) => col.primaryKey().references("events.event_nid"))
      .addColumn("state_before", "bigint", (col) => col.notNull().references("state_groups.state_group"))
      .addColumn("state_after", "bigint", (col) => col.notNull().references("state_groups.state_group"))
      .execute();

    // prev_events, by ID: a prev event may not be stored (yet).
    await db.schema
      .createTable("event_edges")
      .addColumn("event_nid", "bigint", (col) => col.notNull().references("events.event_nid"))
      .addColumn("prev_event_id", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("event_edges_pkey", ["event_nid", "prev_event_id"])
      .modifyEnd(withoutRowId)
      .execute();
    await db.schema.createIndex("event_edges_prev_idx").on("event_edges").column("prev_event_id").execute();

    // auth_events (and, from room version 12, the create event the room ID names): the auth chain index.
    await db.schema
      .createTable("event_auth")
      .addColumn("event_nid", "bigint", (col) => col.notNull().references("events.event_nid"))
      .addColumn("auth_event_nid", "bigint", (col) => col.notNull().references("events.event_nid"))
      .addPrimaryKeyConstraint("event_auth_pkey", ["event_nid", "auth_event_nid"])
      .modifyEnd(withoutRowId)
      .execute();

    await db.schema
      .createTable("forward_extremities")
      .addColumn("room_nid", "bigint", (col) => col.notNull().references("rooms.room_nid"))
      .addColumn("event_nid", "bigint", (col) => col.notNull().references("events.event_nid"))
      .addPrimaryKeyConstraint("forward_extremities_pkey", ["room_nid", "event_nid"])
      .modifyEnd(withoutRowId)
      .execute();

    // The stream of timeline events: positions from the auto-increment, never a counter row.
    await addAutoIncrementId(db.schema.createTable("room_stream"), engine, "stream_ordering")
      .addColumn("room_nid", "bigint", (col) => col.notNull().references("rooms.room_nid"))
      .addColumn("event_nid", "bigint", (col) => col.notNull().unique().references("events.event_nid"))
      .execute();
    await db.schema.createIndex("room_stream_room_idx").on("room_stream").columns(["room_nid", "stream_ordering"]).execute();

    // Redactions whose target has not been seen (or not been applied) yet.
    await db.schema
      .createTable("pending_redactions")
      .addColumn("redaction_nid", nidKey, (col) => col.primaryKey().references("events.event_nid"))
      .addColumn("room_nid", "bigint", (col) => col.notNull().references("rooms.room_nid"))
      .addColumn("redacts", "text", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("pending_redactions_redacts_idx").on("pending_redactions").column("redacts").execute();
  },
};
