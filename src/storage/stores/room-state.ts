// The state of rooms, stored by its changes: state groups.
//
// The state of a room at an event (server-server-api "Room State Resolution": a map of
// (type, state_key) to event ID) is a *state group*. A group is one row, in one of three levels:
//
//   level 0  a full map of the state;
//   level 1  the keys that differ from a level-0 group (its base and root);
//   level 2  the keys that differ from a level-1 group (its base), over that group's root.
//
// So reading any state is one query for at most three rows by primary key (the group, its base and
// its root), however long the room's history: never a walk down a chain of deltas. The state
// after an event that changes nothing (a message, a rejected event) is the group before it, so
// groups are made only by state changes and by state resolution at merges.
//
// Writing a group costs its delta, and the levels bound it (state-snapshot.ts): a level-2 delta holds
// at most LEAF_CAP (32) keys; when it would hold more, the new group becomes a level-1 delta over
// the root, of at most middleCap(root size) = sqrt(2 * 32 * size) keys; past that, a new full map.
// For a room of M members that is about M/cap + cap/64 + 16 entries per state change (about 41
// for M = 10,000), and it depends on M, never on the number of events.
//
// Entries are stored as nids, not strings: (type, state_key) pairs get a nid in `state_keys`,
// events theirs in `events`, and a delta is one blob of varints (state-group-codec.ts), a few bytes
// an entry. The in-memory StateSnapshot mirrors a group exactly, so what the pipeline computes
// is what gets written, and decoded groups are cached (roots are shared by their children).
//
// event_state maps each event (outliers excepted) to its groups before and after it.
import type { Database, SqlValue, Trx } from "../database.ts";
import { REMOVED, decodeStateDelta, encodeStateDelta, stateDeltaEntryCount } from "./state-group-codec.ts";
import type { NidEntry } from "./state-group-codec.ts";
import { LruMap } from "./nid-cache.ts";
import type { NidCaches } from "./nid-cache.ts";
import { StateSnapshot } from "./state-snapshot.ts";

/** SQL parameter lists are cut into chunks of this many values (both engines allow many more). */
export const IN_CHUNK = 4000;

export function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// The room stores' hot path runs plain SQL through db.query (prepared once per SQLite connection).
// So that a few texts serve batches of any size, IN lists are padded (with their last value again)
// to a power of two, and rows are inserted by statements of fixed row counts. On PostgreSQL, where
// each statement is a round trip, multi-row statements of a few sizes. On SQLite, statements run
// in a loop in process: narrow rows (edges, positions) go SQLITE_NARROW_ROWS a statement, which
// halves their cost, but wide ones (events, with their JSON) one a statement, which is cheaper
// for them than a multi-row statement (measured with better-sqlite3 12).

/** Row counts of the multi-row inserts on PostgreSQL, largest first: a batch is cut greedily into these. */
const ROW_COUNTS = [256, 64, 16, 4, 1] as const;
const SQLITE_NARROW_ROWS = 16;
/** The most values of a row SQLite inserts several a statement. */
const SQLITE_NARROW_WIDTH = 3;
/** The longest IN list of one statement. */
const MAX_IN_LIST = 1024;

const texts = new Map<string, string>();

/** The SQL text `key` stands for, built once (texts of a few shapes, so that each is prepared once). */
export function sqlText(key: string, build: () => string): string {
  let found = texts.get(key);
  if (found === undefined) {
    found = build();
    texts.set(key, found);
  }
  return found;
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** The first `upTo` rows, as parameter lists of `perList` rows each. */
function flatChunks(rows: ReadonlyArray<readonly SqlValue[]>, perList: number, upTo: number): ReadonlyArray<readonly SqlValue[]> {
  if (perList === 1) return upTo === rows.length ? rows : rows.slice(0, upTo);
  const lists: SqlValue[][] = [];
  for (let row = 0; row < upTo; row += perList) {
    const params: SqlValue[] = [];
    for (let i = row; i < row + perList; i++) for (const value of rows[i] as readonly SqlValue[]) params.push(value);
    lists.push(params);
  }
  return lists;
}

/** The text of an insert of `count` rows of `width` values. */
function insertText(head: string, width: number, count: number, tail: string): string {
  return sqlText(`${head}\u0000${width}\u0000${count}\u0000${tail}`, () => {
    const tuple = `(${placeholders(width)})`;
    return `${head} values ${Array.from({ length: count }, () => tuple).join(", ")}${tail}`;
  });
}

/**
 * Inserts rows of `width` values each: `head` is "insert into t (a, b)", `tail` what follows the
 * VALUES (an ON CONFLICT, a RETURNING). Returns the rows RETURNING gave, in the rows' order.
 */
export async function insertRows<R = never>(
  db: Database,
  trx: Trx,
  head: string,
  width: number,
  rows: ReadonlyArray<readonly SqlValue[]>,
  tail = "",
): Promise<R[]> {
  if (rows.length === 0) return [];
  if (db.engine === "sqlite") {
    const perStatement = width <= SQLITE_NARROW_WIDTH ? SQLITE_NARROW_ROWS : 1;
    const whole = rows.length - (rows.length % perStatement);
    const out = whole === 0 ? [] : await db.queryEach<R>(trx, insertText(head, width, perStatement, tail), flatChunks(rows, perStatement, whole));
    if (whole === rows.length) return out;
    for (const r of await db.queryEach<R>(trx, insertText(head, width, 1, tail), rows.slice(whole))) out.push(r);
    return out;
  }
  const out: R[] = [];
  for (let row = 0; row < rows.length; ) {
    const left = rows.length - row;
    const count = ROW_COUNTS.find((n) => n <= left) as number;
    const params: SqlValue[] = [];
    for (let i = row; i < row + count; i++) for (const value of rows[i] as readonly SqlValue[]) params.push(value);
    for (const r of await db.query<R>(trx, insertText(head, width, count, tail), params)) out.push(r);
    row += count;
  }
  return out;
}

/**
 * Runs `before (?, ...) after` over `list` in IN lists of at most MAX_IN_LIST values, each padded to a
 * power of two; `leading` are the parameters before the list, `trailing` those after it.
 * Returns every statement's rows.
 */
export async function queryIn<R>(
  db: Database,
  trx: Trx,
  before: string,
  list: readonly SqlValue[],
  after = "",
  leading: readonly SqlValue[] = [],
  trailing: readonly SqlValue[] = [],
): Promise<R[]> {
  const out: R[] = [];
  for (const { statement, values } of inLists(before, list, after)) {
    const params = leading.length === 0 && trailing.length === 0 ? values : [...leading, ...values, ...trailing];
    const rows = await db.query<R>(trx, statement, params);
    for (const r of rows) out.push(r);
  }
  return out;
}

/** The statements `before (?, ...) after` over `list`: IN lists of at most MAX_IN_LIST values, each padded to a power of two. */
export function* inLists(before: string, list: readonly SqlValue[], after = ""): Generator<{ statement: string; values: SqlValue[] }> {
  for (let at = 0; at < list.length; at += MAX_IN_LIST) {
    const values = list.slice(at, at + MAX_IN_LIST);
    let size = 1;
    while (size < values.length) size *= 2;
    const last = values[values.length - 1] as SqlValue;
    while (values.length < size) values.push(last);
    yield { statement: sqlText(`${before}\u0000${size}\u0000${after}`, () => `${before} (${placeholders(size)})${after}`), values };
  }
}

const SEPARATOR = "\u0000";

function splitKey(key: string): [type: string, stateKey: string] {
  const at = key.indexOf(SEPARATOR);
  if (at < 0) throw new Error(`not a state map key: ${JSON.stringify(key)}`);
  return [key.slice(0, at), key.slice(at + 1)];
}

/** What a write transaction assigned, to record once it has committed. */
export interface StateWrites {
  readonly groups: Map<StateSnapshot, number>;
  readonly stateKeys: Map<string, number>;
}

export function emptyStateWrites(): StateWrites {
  return { groups: new Map(), stateKeys: new Map() };
}

/** Resolves event IDs to nids inside a transaction; every ID must be a stored event. */
export type EventNidResolver = (eventIds: readonly string[]) => Promise<Map<string, number>>;

export interface StateStorageStats {
  readonly groups: number;
  readonly fullGroups: number;
  /** Entries (key -> event) stored across all groups. */
  readonly entries: number;
  /** Bytes of the delta blobs plus the fixed columns of each group row (6 integers of 8 bytes). */
  readonly bytes: number;
}

export class RoomStateStore {
  readonly #db: Database;
  readonly #nids: NidCaches;
  readonly #groups: LruMap<number, StateSnapshot>;

  constructor(db: Database, nids: NidCaches, options: { groupCacheSize?: number } = {}) {
    this.#db = db;
    this.#nids = nids;
    this.#groups = new LruMap(options.groupCacheSize ?? 2048);
  }

  /** The nids of state keys (stateMapKey strings), adding the pairs not stored yet. */
  async stateKeyNids(trx: Trx, keys: Iterable<string>, writes: StateWrites): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const missing = new Set<string>();
    for (const key of keys) {
      const nid = writes.stateKeys.get(key) ?? this.#nids.stateKeys.nid(key);
      if (nid !== undefined) found.set(key, nid);
      else missing.add(key);
    }
    if (missing.size === 0) return found;
    const byType = new Map<string, string[]>();
    const rows: string[][] = [];
    for (const key of missing) {
      const [type, stateKey] = splitKey(key);
      rows.push([type, stateKey]);
      const list = byType.get(type);
      if (list === undefined) byType.set(type, [stateKey]);
      else list.push(stateKey);
    }
    await insertRows(this.#db, trx, "insert into state_keys (type, state_key)", 2, rows, " on conflict (type, state_key) do nothing");
    // Read them all back: a pair another writer stored first is not RETURNed by DO NOTHING.
    for (const [type, stateKeys] of byType) {
      const rows = await queryIn<{ state_key_nid: number; state_key: string }>(
        this.#db,
        trx,
        "select state_key_nid, state_key from state_keys where type = ? and state_key in",
        stateKeys,
        "",
        [type],
      );
      for (const row of rows) {
        const key = `${type}${SEPARATOR}${row.state_key}`;
        found.set(key, row.state_key_nid);
        writes.stateKeys.set(key, row.state_key_nid);
      }
    }
    return found;
  }

  /**
   * Writes each snapshot not stored yet as a state group, its bases first, and returns the groups
   * of all of them. The groups assigned are recorded in `writes`, not on the snapshots: the
   * transaction may yet roll back (or run again on PostgreSQL); `committed` records them after.
   */
  async writeSnapshots(
    trx: Trx,
    roomNid: number,
    snapshots: readonly StateSnapshot[],
    eventNids: EventNidResolver,
    writes: StateWrites,
  ): Promise<Map<StateSnapshot, number>> {
    const groupOf = (s: StateSnapshot): number | undefined => s.group ?? writes.groups.get(s);
    // Bases before the snapshots layered over them.
    const order: StateSnapshot[] = [];
    const seen = new Set<StateSnapshot>();
    const visit = (s: StateSnapshot): void => {
      if (seen.has(s) || groupOf(s) !== undefined) return;
      seen.add(s);
      if (s.base !== undefined) visit(s.base);
      order.push(s);
    };
    for (const s of snapshots) visit(s);

    if (order.length > 0) {
      const keys = new Set<string>();
      const ids = new Set<string>();
      for (const s of order) {
        for (const [key, id] of s.delta) {
          keys.add(key);
          if (id !== null) ids.add(id);
        }
      }
      const keyNids = await this.stateKeyNids(trx, keys, writes);
      const idNids = await eventNids([...ids]);
      // The groups' IDs are taken first, so that one insert can write groups layered on each other.
      const groupIds = await this.#allocateGroups(trx, order.length);
      order.forEach((s, i) => writes.groups.set(s, groupIds[i] as number));
      const rows: SqlValue[][] = [];
      for (const s of order) {
        const entries: NidEntry[] = [];
        for (const [key, id] of s.delta) {
          const keyNid = keyNids.get(key);
          const eventNid = id === null ? REMOVED : idNids.get(id);
          if (keyNid === undefined || eventNid === undefined) throw new Error(`state entry ${key} -> ${id} has no nid`);
          entries.push([keyNid, eventNid]);
        }
        rows.push([
          groupOf(s) as number,
          roomNid,
          s.level,
          s.base === undefined ? null : (groupOf(s.base) ?? null),
          s.base === undefined ? null : (groupOf(s.root) ?? null),
          s.size,
          encodeStateDelta(entries),
        ]);
      }
      await insertRows(this.#db, trx, "insert into state_groups (state_group, room_nid, level, base_group, root_group, size, delta)", 7, rows);
    }
    const result = new Map<StateSnapshot, number>();
    for (const s of snapshots) result.set(s, groupOf(s) as number);
    return result;
  }

  /**
   * Takes `count` new group IDs: from the identity's sequence on PostgreSQL; on SQLite, whose one
   * writer holds the database, after the highest the table's AUTOINCREMENT has handed out.
   */
  async #allocateGroups(trx: Trx, count: number): Promise<number[]> {
    if (this.#db.engine === "postgres") {
      const rows = await this.#db.query<{ id: number }>(
        trx,
        "select nextval(pg_get_serial_sequence('state_groups', 'state_group')) as id from generate_series(1, ?::integer)",
        [count],
      );
      return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    }
    const rows = await this.#db.query<{ id: number | null }>(
      trx,
      "select max(coalesce((select seq from sqlite_sequence where name = 'state_groups'), 0), coalesce((select max(state_group) from state_groups), 0)) as id",
      [],
    );
    const first = Number(rows[0]?.id ?? 0) + 1;
    return Array.from({ length: count }, (_, i) => first + i);
  }

  /** Records what a committed transaction wrote: the snapshots' groups and the new state key nids. */
  committed(writes: StateWrites): void {
    for (const [snapshot, group] of writes.groups) {
      snapshot.group = group;
      this.#groups.set(group, snapshot);
    }
    for (const [key, nid] of writes.stateKeys) this.#nids.stateKeys.add(key, nid);
  }

  /** Forgets cached groups (tests, and after a failure that may have left snapshots half-known). */
  clearCache(): void {
    this.#groups.clear();
  }

  /** The snapshots of state groups: one query for the groups and their bases and roots. */
  async loadSnapshots(groups: readonly number[], trx?: Trx): Promise<Map<number, StateSnapshot>> {
    const result = new Map<number, StateSnapshot>();
    const wanted: number[] = [];
    for (const g of new Set(groups)) {
      const cached = this.#groups.get(g);
      if (cached !== undefined) result.set(g, cached);
      else wanted.push(g);
    }
    if (wanted.length === 0) return result;
    const run = async (t: Trx): Promise<Map<number, StateSnapshot>> => {
      const rows = [];
      for (const chunk of chunks(wanted)) {
        rows.push(
          ...(await t
            .selectFrom("state_groups")
            .selectAll()
            .where((eb) =>
              eb.or([
                eb("state_group", "in", chunk),
                eb("state_group", "in", eb.selectFrom("state_groups").select("base_group").where("state_group", "in", chunk)),
                eb("state_group", "in", eb.selectFrom("state_groups").select("root_group").where("state_group", "in", chunk)),
              ]),
            )
            .execute()),
        );
      }
      const decoded = new Map<number, { row: (typeof rows)[number]; entries: NidEntry[] }>();
      const keyNids = new Set<number>();
      const eventNids = new Set<number>();
      for (const row of rows) {
        if (this.#groups.get(row.state_group) !== undefined) continue;
        const entries = decodeStateDelta(row.delta);
        decoded.set(row.state_group, { row, entries });
        for (const [k, e] of entries) {
          if (this.#nids.stateKeys.value(k) === undefined) keyNids.add(k);
          if (e !== REMOVED && this.#nids.events.value(e) === undefined) eventNids.add(e);
        }
      }
      const keys = await this.#stateKeysOf(t, [...keyNids]);
      const ids = await this.#eventIdsOf(t, [...eventNids]);
      const built = new Map<number, StateSnapshot>();
      const build = (group: number): StateSnapshot => {
        const done = built.get(group) ?? this.#groups.get(group);
        if (done !== undefined) return done;
        const item = decoded.get(group);
        if (item === undefined) throw new Error(`state group ${group} is missing`);
        const base = item.row.base_group === null ? undefined : build(item.row.base_group);
        const delta = new Map<string, string | null>();
        for (const [k, e] of item.entries) {
          const key = keys.get(k) ?? this.#nids.stateKeys.value(k);
          if (key === undefined) throw new Error(`state key nid ${k} is missing`);
          if (e === REMOVED) {
            delta.set(key, null);
            continue;
          }
          const id = ids.get(e) ?? this.#nids.events.value(e);
          if (id === undefined) throw new Error(`event nid ${e} is missing`);
          delta.set(key, id);
        }
        const snapshot = StateSnapshot.stored(base, delta, item.row.size, group);
        built.set(group, snapshot);
        return snapshot;
      };
      const out = new Map<number, StateSnapshot>();
      for (const g of wanted) out.set(g, build(g));
      for (const [g, s] of built) this.#groups.set(g, s);
      return out;
    };
    const loaded = trx === undefined ? await this.#db.read("load_state_groups", run) : await run(trx);
    for (const [g, s] of loaded) result.set(g, s);
    return result;
  }

  async #stateKeysOf(trx: Trx, nids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of chunks(nids)) {
      const rows = await trx.selectFrom("state_keys").select(["state_key_nid", "type", "state_key"]).where("state_key_nid", "in", chunk).execute();
      for (const row of rows) {
        const key = `${row.type}${SEPARATOR}${row.state_key}`;
        out.set(row.state_key_nid, key);
        this.#nids.stateKeys.add(key, row.state_key_nid);
      }
    }
    return out;
  }

  async #eventIdsOf(trx: Trx, nids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of chunks(nids)) {
      const rows = await trx.selectFrom("events").select(["event_nid", "event_id"]).where("event_nid", "in", chunk).execute();
      for (const row of rows) {
        out.set(row.event_nid, row.event_id);
        this.#nids.events.add(row.event_id, row.event_nid);
      }
    }
    return out;
  }

  /** How much the state groups take: of one room, or of all. */
  async storageStats(roomNid?: number): Promise<StateStorageStats> {
    return await this.#db.read("state_storage_stats", async (trx) => {
      let query = trx.selectFrom("state_groups").select(["level", "delta"]);
      if (roomNid !== undefined) query = query.where("room_nid", "=", roomNid);
      const rows = await query.execute();
      let bytes = 0;
      let fullGroups = 0;
      let entries = 0;
      for (const row of rows) {
        bytes += row.delta.byteLength + 6 * 8;
        entries += stateDeltaEntryCount(row.delta);
        if (row.level === 0) fullGroups++;
      }
      return { groups: rows.length, fullGroups, entries, bytes };
    });
  }
}
