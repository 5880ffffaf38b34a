// Rooms and their events: the rows, the prev and auth edges, the auth chain index, forward
// extremities, the room stream and redactions; with room-state.ts, the store of the room engine
// (src/homeserver/roomserver). Event IDs and (type, state_key) pairs are numbered (nids) inside the
// database; the API speaks event IDs.
//
// A batch of one room's events is persisted in one write transaction (`persist`): the rows, their
// edges, the state groups of the state before and after each, the stream positions of those that
// enter the timeline, the forward extremities, the room's current state and the transaction IDs of
// local events. So an event is stored with its state (and its txnId) or not at all, and an
// acknowledged event survives any crash.
//
// Stream positions come from room_stream's auto-increment (a sequence on PostgreSQL), never a
// counter row. Within one process the roomserver commits one batch at a time per room and SQLite
// has a single writer; the positions of one room therefore commit in order. Several processes
// writing one PostgreSQL would need a "persisted up to" position as well (not needed yet).
//
// `persist` and the reads the pipeline makes for every batch (getEvents, nids) are its hot path:
// they run plain SQL through db.query (prepared once per SQLite connection), with rows and IN
// lists cut to a few fixed sizes (room-state.ts); the other reads use Kysely.
import { sql } from "kysely";
import type { JsonObject } from "../../core/json.ts";
import { packedMap } from "../../core/packed-map.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import { redactEvent } from "../../core/events/redaction.ts";
import type { Database, SqlValue, Trx } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";
import type { NidCaches } from "./nid-cache.ts";
import { RoomStateStore, chunks, emptyStateWrites, insertRows, queryIn } from "./room-state.ts";
import type { StateWrites } from "./room-state.ts";
import type { StateSnapshot } from "./state-snapshot.ts";
import { insertEventTransactions } from "./transactions.ts";
import type { EventTransaction } from "./transactions.ts";

export interface StoredRoom {
  readonly roomNid: number;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly currentStateGroup: number | null;
}

/** An event as stored, with what the pipeline decided about it. */
export interface StoredEvent {
  readonly eventNid: number;
  readonly eventId: string;
  readonly roomNid: number;
  readonly roomId: string;
  readonly roomVersion: string;
  /** The PDU as stored: the received one, or its redacted form (hash mismatch, or purged after a redaction). */
  readonly pdu: JsonObject;
  readonly depth: number;
  readonly outlier: boolean;
  readonly backfilled: boolean;
  readonly softFailed: boolean;
  /** Set when the event was rejected. */
  readonly rejectedReason: string | null;
  /** The m.room.redaction that redacted it, when one was applied. */
  readonly redactedBy: string | null;
  readonly contentPurged: boolean;
  readonly stateBefore: number | null;
  readonly stateAfter: number | null;
  /** Its position in the room stream, when it entered the timeline. */
  readonly streamOrdering: number | null;
}

/** One event of a batch, as the roomserver decided it. */
export interface EventRecord {
  readonly eventId: string;
  readonly type: string;
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly depth: number;
  readonly originServerTs: number;
  /** The PDU to store, as JSON text. */
  readonly json: string;
  readonly prevEventIds: readonly string[];
  /** Its auth events, and from room version 12 the create event the room ID names. */
  readonly authEventIds: readonly string[];
  readonly outlier: boolean;
  readonly backfilled: boolean;
  readonly softFailed: boolean;
  readonly rejectedReason: string | undefined;
  /** The state before and after the event; undefined for an outlier. */
  readonly stateBefore: StateSnapshot | undefined;
  readonly stateAfter: StateSnapshot | undefined;
  /** The event is stored as an outlier already and now gets its state (its row is updated). */
  readonly replacesOutlier: boolean;
}

/** A batch of one room's events and what they change, written in one transaction. */
export interface RoomWrite {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly events: readonly EventRecord[];
  /** Events that enter the room stream, in timeline order (new events, and redactions applied late). */
  readonly stream: readonly string[];
  readonly forwardExtremities?: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly currentState?: StateSnapshot;
  /** Redactions applied now: the target is served redacted from now on. */
  readonly applyRedactions: ReadonlyArray<{ readonly redactionId: string; readonly targetId: string }>;
  /** Redactions waiting for their target (or for it to be validated). */
  readonly pendingRedactions: ReadonlyArray<{ readonly redactionId: string; readonly redacts: string }>;
  /** Pending redactions settled now (applied, or found not to apply). */
  readonly settledRedactions: readonly string[];
  /** The transaction IDs of the local events sent with one (client-server-api#transaction-identifiers). */
  readonly transactions?: readonly EventTransaction[];
  readonly now: number;
  /** The room is busy (more inputs at once): the commit is synced off the main thread (Database.write). */
  readonly syncInBackground?: boolean;
}

export interface RoomWriteResult {
  readonly roomNid: number;
  readonly eventNids: ReadonlyMap<string, number>;
  readonly streamOrderings: ReadonlyMap<string, number>;
}

export interface StreamEntry {
  readonly streamOrdering: number;
  readonly eventId: string;
}

/** One entry of the room stream across all rooms (streamSince). */
export interface RoomStreamEntry {
  readonly streamOrdering: number;
  readonly roomId: string;
  readonly eventId: string;
  readonly type: string;
  /** Set on state events. */
  readonly stateKey: string | undefined;
}

export class EventStore {
  readonly #db: Database;
  readonly #nids: NidCaches;
  /** Committed rooms' nids (a room's row is never deleted nor renumbered), saving a read per batch. */
  readonly #roomNids = new Map<string, number>();
  readonly state: RoomStateStore;

  constructor(db: Database, nids: NidCaches, state?: RoomStateStore) {
    this.#db = db;
    this.#nids = nids;
    this.state = state ?? new RoomStateStore(db, nids);
  }

  get db(): Database {
    return this.#db;
  }

  async getRoom(roomId: string): Promise<StoredRoom | undefined> {
    const row = await this.#db.read("get_room", (trx) =>
      trx.selectFrom("rooms").select(["room_nid", "room_id", "room_version", "current_state_group"]).where("room_id", "=", roomId).executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    return { roomNid: row.room_nid, roomId: row.room_id, roomVersion: row.room_version, currentStateGroup: row.current_state_group };
  }

  /** The IDs of the rooms whose state is stored here (not those known by outliers only), in ID order. */
  async roomIds(): Promise<string[]> {
    const rows = await this.#db.read("get_room_ids", (trx) => trx.selectFrom("rooms").select("room_id").where("current_state_group", "is not", null).orderBy("room_id").execute());
    return rows.map((r) => r.room_id);
  }

  /** The stored events among these IDs. */
  async getEvents(eventIds: readonly string[]): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    if (eventIds.length === 0) return out;
    await this.#db.read("get_events", async (trx) => {
      const rows = await queryIn<EventRow>(this.#db, trx, `${SELECT_EVENTS} where e.event_id in`, [...new Set(eventIds)]);
      for (const row of rows) out.set(row.event_id, storedEvent(row));
    });
    for (const event of out.values()) this.#nids.events.add(event.eventId, event.eventNid);
    return out;
  }

  /** Every event of a room, oldest row first (tests and consistency checks). */
  async roomEvents(roomId: string): Promise<StoredEvent[]> {
    const rows = await this.#db.read("get_room_events", (trx) =>
      this.#db.query<EventRow>(trx, `${SELECT_EVENTS} where r.room_id = ? order by e.event_nid`, [roomId]),
    );
    return rows.map(storedEvent);
  }

  async forwardExtremities(roomId: string): Promise<string[]> {
    const rows = await this.#db.read("get_forward_extremities", (trx) =>
      trx
        .selectFrom("forward_extremities as f")
        .innerJoin("rooms as r", "r.room_nid", "f.room_nid")
        .innerJoin("events as e", "e.event_nid", "f.event_nid")
        .select("e.event_id")
        .where("r.room_id", "=", roomId)
        .execute(),
    );
    return rows.map((r) => r.event_id);
  }

  /**
   * The union of the auth chains of these events (server-server-api "Auth chain"): walked by the
   * database over event_auth, one recursive query per chunk of starting events.
   */
  async authChain(eventIds: readonly string[]): Promise<Set<string>> {
    const chain = new Set<string>();
    if (eventIds.length === 0) return chain;
    await this.#db.read("get_auth_chain", async (trx) => {
      const nids = await this.#eventNidsIn(trx, eventIds);
      for (const chunk of chunks([...nids.values()])) {
        const rows = await sql<{ event_id: string }>`
          with recursive chain(nid) as (
            select auth_event_nid from event_auth where event_nid in (${sql.join(chunk)})
            union
            select a.auth_event_nid from event_auth a join chain c on a.event_nid = c.nid
          )
          select e.event_id from chain join events e on e.event_nid = chain.nid`.execute(trx);
        for (const row of rows.rows) chain.add(row.event_id);
      }
    });
    return chain;
  }

  /** Which of these events were rejected. */
  async rejectedAmong(eventIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (eventIds.length === 0) return out;
    await this.#db.read("get_rejected_events", async (trx) => {
      for (const chunk of chunks([...new Set(eventIds)])) {
        const rows = await trx.selectFrom("events").select("event_id").where("event_id", "in", chunk).where("rejected_reason", "is not", null).execute();
        for (const row of rows) out.add(row.event_id);
      }
    });
    return out;
  }

  /** The stored events that cite these events among their prev_events (their children). */
  async childrenOf(eventIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (eventIds.length === 0) return out;
    await this.#db.read("get_event_children", async (trx) => {
      for (const chunk of chunks([...new Set(eventIds)])) {
        const rows = await trx
          .selectFrom("event_edges as g")
          .innerJoin("events as e", "e.event_nid", "g.event_nid")
          .select(["g.prev_event_id", "e.event_id"])
          .where("g.prev_event_id", "in", chunk)
          .execute();
        for (const row of rows) {
          const list = out.get(row.prev_event_id) ?? [];
          list.push(row.event_id);
          out.set(row.prev_event_id, list);
        }
      }
    });
    return out;
  }

  /** Every redaction of the room still waiting for its target: target ID -> redaction IDs. */
  async pendingRedactions(roomId: string): Promise<Map<string, string[]>> {
    const rows = await this.#db.read("get_room_pending_redactions", (trx) =>
      trx
        .selectFrom("pending_redactions as p")
        .innerJoin("rooms as r", "r.room_nid", "p.room_nid")
        .innerJoin("events as e", "e.event_nid", "p.redaction_nid")
        .select(["e.event_id", "p.redacts"])
        .where("r.room_id", "=", roomId)
        .orderBy("p.redaction_nid")
        .execute(),
    );
    const out = new Map<string, string[]>();
    for (const row of rows) out.set(row.redacts, [...(out.get(row.redacts) ?? []), row.event_id]);
    return out;
  }

  /** The room stream after `since` (exclusive), oldest first. */
  async roomStream(roomId: string, since = 0, limit = 1000): Promise<StreamEntry[]> {
    const rows = await this.#db.read("get_room_stream", (trx) =>
      trx
        .selectFrom("room_stream as s")
        .innerJoin("rooms as r", "r.room_nid", "s.room_nid")
        .innerJoin("events as e", "e.event_nid", "s.event_nid")
        .select(["s.stream_ordering", "e.event_id"])
        .where("r.room_id", "=", roomId)
        .where("s.stream_ordering", ">", since)
        .orderBy("s.stream_ordering")
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ streamOrdering: r.stream_ordering, eventId: r.event_id }));
  }

  /**
   * The room stream across all rooms after `position` (exclusive), oldest first, at most `limit`
   * entries: for consumers that catch up at startup (the membership and relations indexes).
   * On SQLite positions commit in order. On PostgreSQL two rooms' batches may commit out of
   * order (each takes its positions from the sequence, then commits), so while the roomserver is
   * writing, a position may appear after a later one was read: catch up before taking input, then
   * follow the roomserver's outputs.
   */
  async streamSince(position: number, limit: number): Promise<RoomStreamEntry[]> {
    const rows = await this.#db.read("get_stream_since", (trx) =>
      trx
        .selectFrom("room_stream as s")
        .innerJoin("rooms as r", "r.room_nid", "s.room_nid")
        .innerJoin("events as e", "e.event_nid", "s.event_nid")
        .leftJoin("state_keys as k", "k.state_key_nid", "e.state_key_nid")
        .select(["s.stream_ordering", "r.room_id", "e.event_id", "e.type", "k.state_key"])
        .where("s.stream_ordering", ">", position)
        .orderBy("s.stream_ordering")
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({
      streamOrdering: r.stream_ordering,
      roomId: r.room_id,
      eventId: r.event_id,
      type: r.type,
      stateKey: r.state_key ?? undefined,
    }));
  }

  /** Writes a batch of one room's events and what they change, atomically (see the top of the file). */
  async persist(write: RoomWrite): Promise<RoomWriteResult> {
    const { result, stateWrites, eventNids } = await this.#db.write("persist_room_events", async (trx) => {
      const stateWrites = emptyStateWrites();
      const eventNids = new Map<string, number>();
      const result = await this.#persist(trx, write, stateWrites, eventNids);
      return { result, stateWrites, eventNids };
    }, { syncInBackground: write.syncInBackground === true });
    // Committed: now the nids and groups may be cached.
    this.state.committed(stateWrites);
    for (const [id, nid] of eventNids) this.#nids.events.add(id, nid);
    this.#roomNids.set(write.roomId, result.roomNid);
    return result;
  }

  async #persist(trx: Trx, write: RoomWrite, stateWrites: StateWrites, known: Map<string, number>): Promise<RoomWriteResult> {
    const db = this.#db;
    const roomNid = await this.#roomNid(trx, write);
    const resolve = async (ids: readonly string[]): Promise<Map<string, number>> => {
      const out = await this.#eventNidsIn(trx, ids, known);
      const missing = ids.filter((id) => !out.has(id));
      if (missing.length > 0) throw new Error(`events ${missing.slice(0, 3).join(", ")} are not stored`);
      return out;
    };
    const nidOf = (id: string): number => {
      const nid = known.get(id);
      if (nid === undefined) throw new Error(`event ${id} has no nid`);
      return nid;
    };

    // 1. The event rows (new ones inserted, outliers promoted), with their state keys' nids.
    const fresh: EventRecord[] = [];
    const promoted: EventRecord[] = [];
    for (const e of write.events) (e.replacesOutlier ? promoted : fresh).push(e);
    const stateKeyOf = (e: EventRecord): string | undefined => (e.stateKey === undefined ? undefined : `${e.type}\u0000${e.stateKey}`);
    const keyNids = await this.state.stateKeyNids(
      trx,
      fresh.flatMap((e) => stateKeyOf(e) ?? []),
      stateWrites,
    );
    const eventRows: SqlValue[][] = [];
    for (const e of fresh) {
      const key = stateKeyOf(e);
      eventRows.push([
        e.eventId,
        roomNid,
        e.type,
        key === undefined ? null : (keyNids.get(key) ?? null),
        e.sender,
        Math.min(e.depth, Number.MAX_SAFE_INTEGER),
        e.originServerTs,
        toFlag(e.outlier),
        toFlag(e.softFailed),
        toFlag(e.backfilled),
        e.rejectedReason ?? null,
        e.json,
        write.now,
      ]);
    }
    const inserted = await insertRows<{ event_nid: number; event_id: string }>(
      db,
      trx,
      "insert into events (event_id, room_nid, type, state_key_nid, sender, depth, origin_server_ts, outlier, soft_failed, backfilled, rejected_reason, json, received_ts)",
      13,
      eventRows,
      " returning event_nid, event_id",
    );
    for (const row of inserted) known.set(row.event_id, row.event_nid);
    for (const e of promoted) {
      await db.query(trx, "update events set outlier = 0, soft_failed = ?, backfilled = ?, rejected_reason = ? where event_id = ?", [
        toFlag(e.softFailed),
        toFlag(e.backfilled),
        e.rejectedReason ?? null,
        e.eventId,
      ]);
    }
    for (const [id, nid] of await resolve(write.events.map((e) => e.eventId))) known.set(id, nid);

    // 2. The prev and auth edges.
    const edgeRows: SqlValue[][] = [];
    const authIds = new Set<string>();
    for (const e of fresh) {
      const nid = nidOf(e.eventId);
      for (const prev of distinct(e.prevEventIds)) edgeRows.push([nid, prev]);
      for (const a of e.authEventIds) authIds.add(a);
    }
    await insertRows(db, trx, "insert into event_edges (event_nid, prev_event_id)", 2, edgeRows);
    const authNids = await this.#eventNidsIn(trx, [...authIds], known);
    const authRows: SqlValue[][] = [];
    for (const e of fresh) {
      const nid = nidOf(e.eventId);
      for (const a of distinct(e.authEventIds)) {
        const authNid = authNids.get(a);
        if (authNid !== undefined) authRows.push([nid, authNid]);
      }
    }
    await insertRows(db, trx, "insert into event_auth (event_nid, auth_event_nid)", 2, authRows);

    // 3. State groups, and each event's state before and after.
    const snapshots = write.events.flatMap((e) => (e.stateBefore !== undefined && e.stateAfter !== undefined ? [e.stateBefore, e.stateAfter] : []));
    if (write.currentState !== undefined) snapshots.push(write.currentState);
    const groups = await this.state.writeSnapshots(trx, roomNid, snapshots, resolve, stateWrites);
    const stateRows: SqlValue[][] = [];
    for (const e of write.events) {
      if (e.stateBefore === undefined || e.stateAfter === undefined) continue;
      stateRows.push([nidOf(e.eventId), groups.get(e.stateBefore) as number, groups.get(e.stateAfter) as number]);
    }
    await insertRows(db, trx, "insert into event_state (event_nid, state_before, state_after)", 3, stateRows);
    if (write.currentState !== undefined) {
      await db.query(trx, "update rooms set current_state_group = ? where room_nid = ?", [groups.get(write.currentState) as number, roomNid]);
    }

    // 4. Forward extremities.
    if (write.forwardExtremities !== undefined) {
      const { added, removed } = write.forwardExtremities;
      const nids = await resolve([...added, ...removed]);
      const removedNids = packedMap(removed, (id) => nids.get(id) as number);
      if (removedNids.length > 0) {
        await queryIn(db, trx, "delete from forward_extremities where room_nid = ? and event_nid in", removedNids, "", [roomNid]);
      }
      await insertRows(
        db,
        trx,
        "insert into forward_extremities (room_nid, event_nid)",
        2,
        packedMap(added, (id) => [roomNid, nids.get(id) as number]),
        " on conflict (room_nid, event_nid) do nothing",
      );
    }

    // 5. Redactions.
    if (write.pendingRedactions.length > 0) {
      const nids = await resolve(write.pendingRedactions.map((r) => r.redactionId));
      await insertRows(
        db,
        trx,
        "insert into pending_redactions (redaction_nid, room_nid, redacts)",
        3,
        packedMap(write.pendingRedactions, (r) => [nids.get(r.redactionId) as number, roomNid, r.redacts]),
        " on conflict (redaction_nid) do nothing",
      );
    }
    if (write.settledRedactions.length > 0) {
      const nids = await resolve(write.settledRedactions);
      await queryIn(db, trx, "delete from pending_redactions where redaction_nid in", [...nids.values()]);
    }
    for (const { redactionId, targetId } of write.applyRedactions) {
      const nids = await resolve([redactionId, targetId]);
      await db.query(trx, "update events set redacted_by = ?, redacted_ts = ? where event_nid = ? and redacted_by is null", [
        nids.get(redactionId) as number,
        write.now,
        nids.get(targetId) as number,
      ]);
    }

    // 6. The room stream, in the order given.
    const streamOrderings = new Map<string, number>();
    if (write.stream.length > 0) {
      const nids = await resolve(write.stream);
      const rows = await insertRows<{ stream_ordering: number; event_nid: number }>(
        db,
        trx,
        "insert into room_stream (room_nid, event_nid)",
        2,
        write.stream.map((id) => [roomNid, nids.get(id) as number]),
        " returning stream_ordering, event_nid",
      );
      const byNid = new Map(rows.map((r) => [r.event_nid, r.stream_ordering]));
      let previous = 0;
      for (const id of write.stream) {
        const position = byNid.get(nids.get(id) as number) as number;
        // Both engines number a multi-row insert in VALUES order, and the statements run in order;
        // a timeline out of order would be a bug.
        if (position <= previous) throw new Error("room stream positions were not assigned in order");
        previous = position;
        streamOrderings.set(id, position);
      }
    }

    // 7. The transaction IDs of local events: in the events' own commit, one fsync for both.
    if (write.transactions !== undefined && write.transactions.length > 0) {
      await insertEventTransactions(db, trx, write.transactions, write.now);
    }
    return { roomNid, eventNids: new Map(known), streamOrderings };
  }

  async #roomNid(trx: Trx, write: RoomWrite): Promise<number> {
    const cached = this.#roomNids.get(write.roomId);
    if (cached !== undefined) return cached;
    const found = await this.#db.query<{ room_nid: number }>(trx, "select room_nid from rooms where room_id = ?", [write.roomId]);
    if (found[0] !== undefined) return found[0].room_nid;
    const inserted = await this.#db.query<{ room_nid: number }>(
      trx,
      "insert into rooms (room_id, room_version, current_state_group, created_ts) values (?, ?, null, ?) returning room_nid",
      [write.roomId, write.roomVersion, write.now],
    );
    return (inserted[0] as { room_nid: number }).room_nid;
  }

  /** The nids of the stored events among `ids`: from `known`, the cache, then the database. */
  async #eventNidsIn(trx: Trx, ids: readonly string[], known?: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const id of ids) {
      if (out.has(id)) continue;
      const nid = known?.get(id) ?? this.#nids.events.nid(id);
      if (nid !== undefined) out.set(id, nid);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const rows = await queryIn<{ event_nid: number; event_id: string }>(
        this.#db,
        trx,
        "select event_nid, event_id from events where event_id in",
        [...new Set(missing)],
      );
      for (const row of rows) out.set(row.event_id, row.event_nid);
    }
    return out;
  }

  /**
   * Replaces the stored content of events redacted before `cutoffTs` with their redacted form
   * (client-server-api#redactions: "allowing server owners to delete the offending content from the
   * databases"). Returns how many events were purged; call again while it returns `limit`.
   */
  async purgeRedactedContent(cutoffTs: number, limit = 500): Promise<number> {
    return await this.#db.write("purge_redacted_content", async (trx) => {
      const rows = await trx
        .selectFrom("events as e")
        .innerJoin("rooms as r", "r.room_nid", "e.room_nid")
        .select(["e.event_nid", "e.json", "r.room_version"])
        .where("e.redacted_ts", "<=", cutoffTs)
        .where("e.content_purged", "=", 0)
        .orderBy("e.redacted_ts")
        .limit(limit)
        .execute();
      for (const row of rows) {
        const version = getRoomVersion(row.room_version);
        const pdu = JSON.parse(row.json) as JsonObject;
        const json = version === undefined ? row.json : JSON.stringify(redactEvent(pdu, version));
        await trx.updateTable("events").set({ json, content_purged: 1 }).where("event_nid", "=", row.event_nid).execute();
      }
      return rows.length;
    });
  }
}

/** An event with what was decided about it (StoredEvent), joined from the tables that hold it. */
const SELECT_EVENTS =
  "select e.event_nid, e.event_id, e.room_nid, r.room_id, r.room_version, e.json, e.depth, e.outlier, e.backfilled, " +
  "e.soft_failed, e.rejected_reason, e.content_purged, rd.event_id as redacted_by_id, s.state_before, s.state_after, " +
  "t.stream_ordering from events e join rooms r on r.room_nid = e.room_nid " +
  "left join event_state s on s.event_nid = e.event_nid left join room_stream t on t.event_nid = e.event_nid " +
  "left join events rd on rd.event_nid = e.redacted_by";

interface EventRow {
  readonly event_nid: number;
  readonly event_id: string;
  readonly room_nid: number;
  readonly room_id: string;
  readonly room_version: string;
  readonly json: string;
  readonly depth: number;
  readonly outlier: number;
  readonly backfilled: number;
  readonly soft_failed: number;
  readonly rejected_reason: string | null;
  readonly content_purged: number;
  readonly redacted_by_id: string | null;
  readonly state_before: number | null;
  readonly state_after: number | null;
  readonly stream_ordering: number | null;
}

function storedEvent(row: EventRow): StoredEvent {
  return {
    eventNid: row.event_nid,
    eventId: row.event_id,
    roomNid: row.room_nid,
    roomId: row.room_id,
    roomVersion: row.room_version,
    pdu: JSON.parse(row.json) as JsonObject,
    depth: row.depth,
    outlier: fromFlag(row.outlier),
    backfilled: fromFlag(row.backfilled),
    softFailed: fromFlag(row.soft_failed),
    rejectedReason: row.rejected_reason,
    redactedBy: row.redacted_by_id,
    contentPurged: fromFlag(row.content_purged),
    stateBefore: row.state_before,
    stateAfter: row.state_after,
    streamOrdering: row.stream_ordering,
  };
}

/** The distinct values of a list, in order (usually one or two: no set for those). */
function distinct(values: readonly string[]): readonly string[] {
  if (values.length < 2 || (values.length === 2 && values[0] !== values[1])) return values;
  return [...new Set(values)];
}
