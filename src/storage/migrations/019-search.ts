// Server-side search (modules/search.md): the full-text index of the searchable keys of room events
// (content.body of m.room.message, content.name of m.room.name, content.topic of m.room.topic), one
// row per event, and how far the search indexer has read the room stream. The words are indexed by
// each engine's own full-text search: an FTS5 table on SQLite, a tsvector with a GIN index on
// PostgreSQL, both stemming English (Porter's stemmer, the `english` configuration).
import { sql } from "kysely";
import { addAutoIncrementId, addFlagColumn, type Migration } from "./migration.ts";

export const search: Migration = {
  version: 19,
  name: "search",
  async up(db, engine) {
    let table = addAutoIncrementId(db.schema.createTable("event_search"), engine, "search_id")
      .addColumn("event_id", "text", (col) => col.notNull().unique())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("sender", "text", (col) => col.notNull())
      // search.yaml `keys`: content.body, content.name or content.topic (each names one event type).
      .addColumn("key", "text", (col) => col.notNull())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .addColumn("origin_server_ts", "bigint", (col) => col.notNull())
      // The text searched: the key's value (and for a topic, its text/plain m.topic as well).
      .addColumn("value", "text", (col) => col.notNull());
    // room_event_filter.yaml `contains_url`: whether the content has a `url` key.
    table = addFlagColumn(table, "contains_url");
    if (engine === "postgres") {
      // Kept up to date by PostgreSQL itself; to_tsvector with an explicit configuration is immutable.
      table = table.addColumn("vector", sql`tsvector`, (col) => col.generatedAlwaysAs(sql`to_tsvector('english', value)`).stored());
    }
    await table.execute();
    // order_by "recent" pages by stream position, within rooms or across them.
    await db.schema.createIndex("event_search_stream_idx").on("event_search").column("stream_ordering").execute();
    await db.schema.createIndex("event_search_room_idx").on("event_search").columns(["room_id", "stream_ordering"]).execute();

    if (engine === "postgres") {
      await sql`create index event_search_vector_idx on event_search using gin (vector)`.execute(db);
    } else {
      // An external-content FTS5 table over event_search (its rowid is search_id), kept in step by
      // triggers, so the text is stored once and highlight() reads it from event_search.
      await sql`create virtual table event_search_fts using fts5(value, content = 'event_search', content_rowid = 'search_id', tokenize = 'porter unicode61 remove_diacritics 2')`.execute(db);
      await sql`create trigger event_search_fts_insert after insert on event_search begin
        insert into event_search_fts (rowid, value) values (new.search_id, new.value);
      end`.execute(db);
      await sql`create trigger event_search_fts_delete after delete on event_search begin
        insert into event_search_fts (event_search_fts, rowid, value) values ('delete', old.search_id, old.value);
      end`.execute(db);
    }

    // How far the search indexer has read the room stream (one row, id 1); no row: from the start,
    // so that the events stored before this migration are indexed too.
    await db.schema
      .createTable("search_index_position")
      .addColumn("id", "integer", (col) => col.primaryKey())
      .addColumn("stream_ordering", "bigint", (col) => col.notNull())
      .execute();
  },
};
