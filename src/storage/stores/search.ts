// The server-side search index (modules/search.md): one row per room event with searchable text,
// written by the search indexer as it follows the room stream, removed when the event is redacted;
// read by POST /search. The full-text part is each engine's own (migration 019): FTS5 with bm25
// ranking on SQLite, a tsvector with ts_rank_cd on PostgreSQL; the conditions around it (rooms and
// how far in each, keys, senders, contains_url, the cursor) ask the same of both.
//
// Lists of any length (the rooms searched, the senders of a filter) are bound as one JSON
// parameter and read back with the engine's JSON functions, so no query has a parameter per item.
import { sql, type RawBuilder } from "kysely";
import type { Database, Trx } from "../database.ts";
import { toFlag } from "../schema.ts";
import { chunks, insertRows } from "./room-state.ts";
import { fts5Query, type SearchOperand, type SearchTerms } from "./search-query.ts";

/** search.yaml `keys`. */
export type SearchKey = "content.body" | "content.name" | "content.topic";

export interface SearchEntry {
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
  readonly key: SearchKey;
  /** The text searched. */
  readonly value: string;
  readonly containsUrl: boolean;
  readonly streamOrdering: number;
  readonly originServerTs: number;
}

/** What the indexer writes for a stretch of the room stream, in one transaction. */
export interface SearchIndexWrite {
  readonly add: readonly SearchEntry[];
  /** Events no longer searchable (redacted). */
  readonly remove: readonly string[];
  /** The stream position read up to after this write; undefined leaves it (backfilled history). */
  readonly position: number | undefined;
}

/** A room searched, and the last stream position in it the searcher may read (undefined: all). */
export interface SearchRoom {
  readonly roomId: string;
  readonly upTo: number | undefined;
}

export type SearchOrder = "rank" | "recent";

/** Where a page of results ends: the next page starts after it in the order of the search. */
export interface SearchCursor {
  readonly streamOrdering: number;
  /** With order "rank". */
  readonly rank?: number;
}

export interface SearchQuery {
  readonly terms: SearchTerms;
  readonly rooms: readonly SearchRoom[];
  readonly keys: readonly SearchKey[];
  /** undefined: any sender. */
  readonly senders: readonly string[] | undefined;
  readonly notSenders: readonly string[];
  readonly containsUrl: boolean | undefined;
}

export interface SearchHit {
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
  readonly streamOrdering: number;
  /** Higher is a closer match. */
  readonly rank: number;
}

/** What the engines put around each matched word in a highlighted text (control characters, never typed). */
const START_MARK = "\u0001";
const STOP_MARK = "\u0002";

export class SearchStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The stream position the index has read up to; undefined before its first write. */
  async position(): Promise<number | undefined> {
    const row = await this.#db.read("get_search_index_position", (trx) =>
      trx.selectFrom("search_index_position").select("stream_ordering").where("id", "=", 1).executeTakeFirst(),
    );
    return row?.stream_ordering;
  }

  async write(write: SearchIndexWrite): Promise<void> {
    // Writes of the index are never urgent: on SQLite their sync is shared with the commits around them.
    await this.#db.write(
      "write_search_index",
      async (trx) => {
        // An event redacted in the same stretch as it was read stays out.
        const removed = new Set(write.remove);
        const add = write.add.filter((e) => !removed.has(e.eventId));
        // Prepared statements (insertRows): building a multi-row insert per batch cost more than the rows.
        await insertRows(
          this.#db,
          trx,
          "insert into event_search (event_id, room_id, sender, key, stream_ordering, origin_server_ts, value, contains_url)",
          8,
          add.map((e) => [e.eventId, e.roomId, e.sender, e.key, e.streamOrdering, e.originServerTs, storable(e.value), toFlag(e.containsUrl)]),
          // Read twice (a catch-up and a live output): indexed once.
          " on conflict (event_id) do nothing",
        );
        for (const chunk of chunks([...removed])) {
          await trx.deleteFrom("event_search").where("event_id", "in", chunk).execute();
        }
        if (write.position !== undefined) await setPosition(trx, write.position);
      },
      { syncInBackground: true },
    );
  }

  /**
   * A page of the events matching the query, best first (`rank`) or newest first (`recent`,
   * by stream position), after the cursor when one is given. A rank cursor is exact on PostgreSQL
   * (ts_rank_cd looks at the event alone); bm25 weighs words by how rare they are in the whole
   * index, so on SQLite events indexed between two pages may move the ranks a little.
   */
  async search(query: SearchQuery, order: SearchOrder, after: SearchCursor | undefined, limit: number): Promise<SearchHit[]> {
    if (!searchesAnything(query)) return [];
    const rank = this.#rank();
    let cursor = sql``;
    if (after !== undefined) {
      cursor =
        order === "recent" || after.rank === undefined
          ? sql`and s.stream_ordering < ${after.streamOrdering}`
          : sql`and (${rank} < ${after.rank} or (${rank} = ${after.rank} and s.stream_ordering < ${after.streamOrdering}))`;
    }
    const orderBy = order === "rank" ? sql`${rank} desc, s.stream_ordering desc` : sql`s.stream_ordering desc`;
    const rows = await this.#db.read("search_events", async (trx) => {
      const result = await sql<{ event_id: string; room_id: string; sender: string; stream_ordering: number; rank: number }>`
        select s.event_id, s.room_id, s.sender, s.stream_ordering, ${rank} as rank
        ${this.#from(query)} ${cursor}
        order by ${orderBy}
        limit ${limit}`.execute(trx);
      return result.rows;
    });
    return rows.map((r) => ({ eventId: r.event_id, roomId: r.room_id, sender: r.sender, streamOrdering: Number(r.stream_ordering), rank: Number(r.rank) }));
  }

  /** How many events match the query (search.yaml `count`, before the visibility rules are applied). */
  async count(query: SearchQuery): Promise<number> {
    if (!searchesAnything(query)) return 0;
    return await this.#db.read("count_search_events", async (trx) => {
      const result = await sql<{ n: number | string }>`select count(*) as n ${this.#from(query)}`.execute(trx);
      return Number(result.rows[0]?.n ?? 0);
    });
  }

  /**
   * The words of these events that the terms matched, as they are written there (search.yaml
   * `highlights`: "useful for stemming which may change the query terms"), each once, in the order
   * of the events given.
   */
  async highlights(terms: SearchTerms, eventIds: readonly string[]): Promise<string[]> {
    if (eventIds.length === 0) return [];
    const ids = JSON.stringify(eventIds);
    const rows = await this.#db.read("search_highlights", async (trx) => {
      if (this.#db.engine === "sqlite") {
        const result = await sql<{ event_id: string; marked: string }>`
          select s.event_id, highlight(event_search_fts, 0, ${START_MARK}, ${STOP_MARK}) as marked
          from event_search_fts join event_search s on s.search_id = event_search_fts.rowid
          where event_search_fts match ${fts5Query(terms)} and s.event_id in (select value from json_each(${ids}))`.execute(trx);
        return result.rows;
      }
      // Only the events the terms match, as FTS5 does (ts_headline marks any word of the query).
      const result = await sql<{ event_id: string; marked: string }>`
        select s.event_id, ts_headline('english', s.value, q.query, ${`StartSel=${START_MARK}, StopSel=${STOP_MARK}, HighlightAll=true`}) as marked
        from event_search s cross join (select ${tsQuery(terms)} as query) q
        where s.vector @@ q.query and s.event_id in (select jsonb_array_elements_text(${ids}::jsonb))`.execute(trx);
      return result.rows;
    });
    const byEvent = new Map(rows.map((r) => [r.event_id, r.marked]));
    const words = new Set<string>();
    for (const id of eventIds) for (const word of markedWords(byEvent.get(id) ?? "")) words.add(word);
    return [...words];
  }

  /** Higher is closer: FTS5's bm25 is lower for better matches, so it is negated. */
  #rank(): RawBuilder<number> {
    return this.#db.engine === "sqlite" ? sql<number>`(-bm25(event_search_fts))` : sql<number>`ts_rank_cd(s.vector, q.query)::float8`;
  }

  /** The FROM and WHERE of a search, its rows aliased `s`. */
  #from(query: SearchQuery): RawBuilder<unknown> {
    const keys = JSON.stringify(query.keys);
    if (this.#db.engine === "sqlite") {
      // Each match is checked against the rooms with IN lists, which SQLite looks up in an index
      // it builds once (a join with json_each would read the whole list for every match); the
      // bounded rooms' last positions by the hex of the room ID, a JSON object key that no room
      // ID's characters can spoil.
      const list = (json: string) => sql`(select value from json_each(${json}))`;
      const open = JSON.stringify(query.rooms.filter((r) => r.upTo === undefined).map((r) => r.roomId));
      const bounded = query.rooms.filter((r) => r.upTo !== undefined);
      const boundedIds = JSON.stringify(bounded.map((r) => r.roomId));
      const upTo = JSON.stringify(Object.fromEntries(bounded.map((r) => [Buffer.from(r.roomId, "utf8").toString("hex").toUpperCase(), r.upTo])));
      return sql`
        from event_search_fts
        join event_search s on s.search_id = event_search_fts.rowid
        where event_search_fts match ${fts5Query(query.terms)}
          and (s.room_id in ${list(open)} or (s.room_id in ${list(boundedIds)} and s.stream_ordering <= (${upTo} ->> hex(s.room_id))))
          and s.key in ${list(keys)}
          ${senderConditions(query, list)}`;
    }
    const rooms = JSON.stringify(query.rooms.map((r) => ({ r: r.roomId, u: r.upTo ?? null })));
    const list = (json: string) => sql`(select jsonb_array_elements_text(${json}::jsonb))`;
    return sql`
      from event_search s
      join jsonb_to_recordset(${rooms}::jsonb) as scope(r text, u bigint) on scope.r = s.room_id
      cross join (select ${tsQuery(query.terms)} as query) q
      where s.vector @@ q.query
        and (scope.u is null or s.stream_ordering <= scope.u)
        and s.key in ${list(keys)}
        ${senderConditions(query, list)}`;
  }
}

function searchesAnything(query: SearchQuery): boolean {
  return query.rooms.length > 0 && query.keys.length > 0 && query.senders?.length !== 0;
}

function senderConditions(query: SearchQuery, list: (json: string) => RawBuilder<unknown>): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  if (query.senders !== undefined) parts.push(sql`and s.sender in ${list(JSON.stringify(query.senders))}`);
  if (query.notSenders.length > 0) parts.push(sql`and s.sender not in ${list(JSON.stringify(query.notSenders))}`);
  if (query.containsUrl !== undefined) parts.push(sql`and s.contains_url = ${toFlag(query.containsUrl)}`);
  return sql.join(parts, sql` `);
}

/**
 * The terms as a PostgreSQL tsquery: each operand read by websearch_to_tsquery as a quoted phrase
 * (so PostgreSQL's own parser splits it, as it split the text indexed), combined with the tsquery
 * operators. An operand of stop words only is an empty query, which the operators leave out.
 */
function tsQuery(terms: SearchTerms): RawBuilder<unknown> {
  const operand = (o: SearchOperand) => sql`websearch_to_tsquery('english', ${`"${o.text.replaceAll('"', " ")}"`})`;
  const clauses = terms.clauses.map((clause) => sql`(${sql.join(clause.map(operand), sql` || `)})`);
  const excluded = terms.excluded.map((o) => sql`!!${operand(o)}`);
  return sql`(${sql.join([...clauses, ...excluded], sql` && `)})`;
}

/** The words an engine marked in a highlighted text. */
export function markedWords(marked: string): string[] {
  const words: string[] = [];
  for (let start = marked.indexOf(START_MARK); start !== -1; start = marked.indexOf(START_MARK, start + 1)) {
    const stop = marked.indexOf(STOP_MARK, start + 1);
    if (stop === -1) break;
    for (const word of marked.slice(start + 1, stop).split(/\s+/u)) if (word !== "") words.push(word);
    start = stop;
  }
  return words;
}

// PostgreSQL text cannot hold NUL (nor can it be searched for): it is taken as a space on both engines.
function storable(value: string): string {
  return value.replaceAll("\u0000", " ");
}

async function setPosition(trx: Trx, position: number): Promise<void> {
  await trx
    .insertInto("search_index_position")
    .values({ id: 1, stream_ordering: position })
    .onConflict((oc) =>
      oc
        .column("id")
        .doUpdateSet({ stream_ordering: (eb) => eb.ref("excluded.stream_ordering") })
        // Never backwards: a late write of an earlier stretch leaves the position where it is.
        .where("search_index_position.stream_ordering", "<", (eb) => eb.ref("excluded.stream_ordering")),
    )
    .execute();
}
