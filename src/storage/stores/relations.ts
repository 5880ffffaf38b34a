// The relations index (client-server-api#forming-relationships-between-events): one row per child
// event with an `m.relates_to` while the child is not redacted, the thread roots, and how far the
// index has read the room stream. Written by the relations indexer, read for /relations, /threads,
// bundled aggregations and the duplicate-annotation check.
import { sql } from "kysely";
import type { Database, Trx } from "../database.ts";
import { chunks } from "./room-state.ts";

export interface RelationRow {
  readonly eventId: string;
  readonly roomId: string;
  readonly relatesToId: string;
  readonly relType: string;
  readonly eventType: string;
  readonly sender: string;
  /** m.annotation's key. */
  readonly key: string | undefined;
  readonly streamOrdering: number;
  readonly originServerTs: number;
}

/** What the indexer writes for a stretch of the room stream, in one transaction. */
export interface RelationsWrite {
  readonly add: readonly RelationRow[];
  /** Thread roots first seen now, with their senders when known. */
  readonly threadRoots: ReadonlyArray<{ readonly threadId: string; readonly roomId: string; readonly sender: string | undefined }>;
  /** Children whose relation is gone (redacted). */
  readonly remove: readonly string[];
  /** The stream position read up to, after this write. */
  readonly position: number;
}

export interface ChildQuery {
  readonly roomId: string;
  readonly parentId: string;
  readonly relType?: string;
  readonly eventType?: string;
  /** Positions in (after, upTo]; either bound may be open. */
  readonly after?: number;
  readonly upTo?: number;
  readonly dir: "f" | "b";
  readonly limit: number;
  /** Follow children of children, this many levels in all (1: direct children only). */
  readonly depth: number;
}

export interface ThreadSummary {
  readonly threadId: string;
  readonly latestStreamOrdering: number;
}

export class RelationStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async position(): Promise<number> {
    const row = await this.#db.read("get_relations_index_position", (trx) =>
      trx.selectFrom("relations_index_position").select("stream_ordering").where("id", "=", 1).executeTakeFirst(),
    );
    return row?.stream_ordering ?? 0;
  }

  async write(write: RelationsWrite): Promise<void> {
    await this.#db.write("write_relations", async (trx) => {
      for (const chunk of chunks([...write.add], 200)) {
        await trx
          .insertInto("event_relations")
          .values(
            chunk.map((r) => ({
              event_id: r.eventId,
              room_id: r.roomId,
              relates_to_id: r.relatesToId,
              rel_type: r.relType,
              event_type: r.eventType,
              sender: r.sender,
              aggregation_key: r.key ?? null,
              stream_ordering: r.streamOrdering,
              origin_server_ts: r.originServerTs,
            })),
          )
          .onConflict((oc) => oc.column("event_id").doNothing())
          .execute();
      }
      for (const root of write.threadRoots) {
        await trx
          .insertInto("thread_roots")
          .values({ thread_id: root.threadId, room_id: root.roomId, sender: root.sender ?? null })
          .onConflict((oc) => oc.column("thread_id").doNothing())
          .execute();
      }
      for (const chunk of chunks([...write.remove])) {
        await trx.deleteFrom("event_relations").where("event_id", "in", chunk).execute();
      }
      await setPosition(trx, write.position);
    });
  }

  /** The relation of each of these events that has one: child ID -> its row. */
  async relationsOf(eventIds: readonly string[]): Promise<Map<string, RelationRow>> {
    const out = new Map<string, RelationRow>();
    if (eventIds.length === 0) return out;
    await this.#db.read("get_relations_of", async (trx) => {
      for (const chunk of chunks([...new Set(eventIds)])) {
        const rows = await trx.selectFrom("event_relations").selectAll().where("event_id", "in", chunk).execute();
        for (const row of rows) out.set(row.event_id, fromRow(row));
      }
    });
    return out;
  }

  /**
   * Children of a parent in a room, by stream position (GET /relations). With depth > 1, the
   * children of matching children too, each level filtered alike (relations.yaml `recurse`).
   */
  async children(query: ChildQuery): Promise<RelationRow[]> {
    const rows = await this.#db.read("get_relation_children", async (trx) => {
      const filters = (alias: string) => {
        const parts = [sql`${sql.ref(`${alias}.room_id`)} = ${query.roomId}`];
        if (query.relType !== undefined) parts.push(sql`${sql.ref(`${alias}.rel_type`)} = ${query.relType}`);
        if (query.eventType !== undefined) parts.push(sql`${sql.ref(`${alias}.event_type`)} = ${query.eventType}`);
        return sql.join(parts, sql` and `);
      };
      const bounds = [sql`t.stream_ordering > ${query.after ?? 0}`];
      if (query.upTo !== undefined) bounds.push(sql`t.stream_ordering <= ${query.upTo}`);
      const order = query.dir === "f" ? sql`asc` : sql`desc`;
      const result = await sql<DbRelation>`
        with recursive tree(event_id, level) as (
          select c.event_id, 1 from event_relations c where c.relates_to_id = ${query.parentId} and ${filters("c")}
          union
          select c.event_id, tree.level + 1 from event_relations c join tree on c.relates_to_id = tree.event_id
          where tree.level < ${query.depth} and ${filters("c")}
        )
        select t.* from event_relations t where t.event_id in (select event_id from tree) and ${sql.join(bounds, sql` and `)}
        order by t.stream_ordering ${order} limit ${query.limit}`.execute(trx);
      return result.rows;
    });
    return rows.map(fromRow);
  }

  /** The children of each parent with this relation type, oldest first: parent ID -> rows. */
  async childrenOfParents(roomId: string, parentIds: readonly string[], relType: string): Promise<Map<string, RelationRow[]>> {
    const out = new Map<string, RelationRow[]>();
    if (parentIds.length === 0) return out;
    await this.#db.read("get_relation_children_of_parents", async (trx) => {
      for (const chunk of chunks([...new Set(parentIds)])) {
        const rows = await trx
          .selectFrom("event_relations")
          .selectAll()
          .where("relates_to_id", "in", chunk)
          .where("rel_type", "=", relType)
          .where("room_id", "=", roomId)
          .orderBy("stream_ordering")
          .execute();
        for (const row of rows) {
          const list = out.get(row.relates_to_id) ?? [];
          list.push(fromRow(row));
          out.set(row.relates_to_id, list);
        }
      }
    });
    return out;
  }

  /**
   * The children of each parent, of any of these relation types, oldest first: parent ID -> rows.
   * `parents` maps each parent to its room; a child is one only in its parent's room. One query for
   * parents of many rooms and several types (bundled aggregations of a page of events).
   */
  async childrenOfParentsIn(parents: ReadonlyMap<string, string>, relTypes: readonly string[]): Promise<Map<string, RelationRow[]>> {
    const out = new Map<string, RelationRow[]>();
    if (parents.size === 0 || relTypes.length === 0) return out;
    await this.#db.read("get_relation_children_of_parents_in", async (trx) => {
      for (const chunk of chunks([...parents.keys()])) {
        const rows = await trx
          .selectFrom("event_relations")
          .selectAll()
          .where("relates_to_id", "in", chunk)
          .where("rel_type", "in", [...relTypes])
          .orderBy("stream_ordering")
          .execute();
        for (const row of rows) {
          if (parents.get(row.relates_to_id) !== row.room_id) continue;
          const list = out.get(row.relates_to_id) ?? [];
          list.push(fromRow(row));
          out.set(row.relates_to_id, list);
        }
      }
    });
    return out;
  }

  /** Whether this sender already annotated the parent with this type and key (modules/event_annotations.md). */
  async hasAnnotation(parentId: string, sender: string, eventType: string, key: string): Promise<boolean> {
    const row = await this.#db.read("get_annotation", (trx) =>
      trx
        .selectFrom("event_relations")
        .select("event_id")
        .where("relates_to_id", "=", parentId)
        .where("rel_type", "=", "m.annotation")
        .where("sender", "=", sender)
        .where("event_type", "=", eventType)
        .where("aggregation_key", "=", key)
        .limit(1)
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  /**
   * The threads of a room, latest activity first, whose latest event is at or before `upTo`
   * (threads_list.yaml); with `participant`, only those the user started or replied in.
   */
  async threads(roomId: string, options: { upTo: number | undefined; limit: number; participant: string | undefined }): Promise<ThreadSummary[]> {
    const rows = await this.#db.read("get_room_threads", async (trx) => {
      const having = [sql`max(r.stream_ordering) <= ${options.upTo ?? Number.MAX_SAFE_INTEGER}`];
      if (options.participant !== undefined) {
        having.push(sql`(max(case when t.sender = ${options.participant} then 1 else 0 end) = 1
          or max(case when r.sender = ${options.participant} then 1 else 0 end) = 1)`);
      }
      const result = await sql<{ thread_id: string; latest: number | string }>`
        select r.relates_to_id as thread_id, max(r.stream_ordering) as latest
        from event_relations r left join thread_roots t on t.thread_id = r.relates_to_id
        where r.room_id = ${roomId} and r.rel_type = 'm.thread'
        group by r.relates_to_id
        having ${sql.join(having, sql` and `)}
        order by latest desc
        limit ${options.limit}`.execute(trx);
      return result.rows;
    });
    return rows.map((r) => ({ threadId: r.thread_id, latestStreamOrdering: Number(r.latest) }));
  }
}

interface DbRelation {
  event_id: string;
  room_id: string;
  relates_to_id: string;
  rel_type: string;
  event_type: string;
  sender: string;
  aggregation_key: string | null;
  stream_ordering: number | string;
  origin_server_ts: number | string;
}

function fromRow(row: DbRelation): RelationRow {
  return {
    eventId: row.event_id,
    roomId: row.room_id,
    relatesToId: row.relates_to_id,
    relType: row.rel_type,
    eventType: row.event_type,
    sender: row.sender,
    key: row.aggregation_key ?? undefined,
    // Raw SQL bypasses the engines' BIGINT parsing (PostgreSQL hands back strings there).
    streamOrdering: Number(row.stream_ordering),
    originServerTs: Number(row.origin_server_ts),
  };
}

async function setPosition(trx: Trx, position: number): Promise<void> {
  await trx
    .insertInto("relations_index_position")
    .values({ id: 1, stream_ordering: position })
    .onConflict((oc) =>
      oc
        .column("id")
        .doUpdateSet({ stream_ordering: (eb) => eb.ref("excluded.stream_ordering") })
        // Never backwards: a late write of an earlier stretch leaves the position where it is.
        .where("relations_index_position.stream_ordering", "<", (eb) => eb.ref("excluded.stream_ordering")),
    )
    .execute();
}
