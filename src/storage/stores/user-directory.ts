// The user directory (client-server-api#user-directory, migration 024): one row per user joined to
// some room, local or remote, with the profile of their latest join and a lower-cased search text
// (their user ID and every display name of their joins, one a line), and the index a search looks
// its words up in: every substring of one to three characters ("gram") of each word of that text.
//
// Why grams of our own: the search matches a word anywhere in a user ID or display name, which a
// B-tree cannot find (LIKE '%word%' reads every row). SQLite's FTS5 trigram tokenizer and
// PostgreSQL's pg_trgm both index three-character substrings only, and pg_trgm is an extension a
// server's database may not have (or its role may not create). A (gram, user_id) table works the
// same on both engines, finds words of one and two characters too, and gives each gram's users in
// user ID order, the order of the results: a search reads the users it examines, not all of them.
// The price is on writes: a user new to the directory adds some 70 grams, one row in as many index
// pages. A text changes rarely (a first join, a last leave, a new display name), only the grams that
// changed are written, and a join that changes neither the text nor the profile writes nothing.
//
// Kept in two steps. The membership index's writes mark the users they change as stale, in their
// own transaction (MembershipStore.apply): a mark is never lost, a crash included. refreshStale then
// rewrites the rows of a few marked users a transaction, from their rows in room_memberships, in the
// background (rooms/user-directory.ts): joining a room of thousands of members would otherwise write
// some 70 rows each in the join's own transaction.
// Who may see whom is not stored: the search checks it for the users it finds (rooms/user-directory.ts).
import type { Database, SqlValue, Trx } from "../database.ts";
import { packedMap } from "../../core/packed-map.ts";
import { inLists, insertRows, queryIn, sqlText } from "./room-state.ts";

/** The longest gram: words of up to this many characters are looked up whole, longer ones by theirs. */
const GRAM_LENGTH = 3;

/**
 * The characters of each display name that are searched. Local names are at most 256 characters
 * (profile-service.ts); a longer one from another server is searched on its first 256, which bounds
 * the grams one member event can add.
 */
const SEARCHED_NAME_LENGTH = 256;

/** How many rows of a gram are counted at most when choosing the gram to look a search up by. */
const GRAM_COUNT_LIMIT = 500;
/** How many of the words' grams are counted at most (any of them would do: every match has them all). */
const GRAMS_COUNTED = 8;

/** A join of a user, with the profile its member event gave. */
export interface DirectoryJoin {
  readonly roomId: string;
  readonly streamOrdering: number;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

/** A user's directory row. */
export interface DirectoryEntry {
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
  readonly searchText: string;
}

/** Text as it is searched: lower case (Unicode's default mapping, whatever the locale), without NUL (PostgreSQL's text cannot hold one). */
export function searchable(text: string): string {
  return text.replace(/\0/g, "").toLowerCase();
}

/** The words of a search term, each to be found in the user ID or the display name. */
export function searchWords(term: string): string[] {
  return searchable(term)
    .split(/\s+/)
    .filter((w) => w !== "");
}

/** The latest of a user's joins (the greatest position; the room ID breaks a tie). */
export function latestJoin<J extends DirectoryJoin>(joins: readonly J[]): J | undefined {
  let latest: J | undefined;
  for (const j of joins) {
    if (latest === undefined || j.streamOrdering > latest.streamOrdering || (j.streamOrdering === latest.streamOrdering && j.roomId > latest.roomId)) latest = j;
  }
  return latest;
}

/** The directory row of a user from their joins; none when they are joined nowhere. */
export function directoryEntry(userId: string, joins: readonly DirectoryJoin[]): DirectoryEntry | undefined {
  const latest = latestJoin(joins);
  if (latest === undefined) return undefined;
  const names = new Set<string>();
  for (const j of joins) {
    if (j.displayName === null) continue;
    const name = searchable(j.displayName);
    names.add(name.length > SEARCHED_NAME_LENGTH ? Array.from(name).slice(0, SEARCHED_NAME_LENGTH).join("") : name);
  }
  names.delete("");
  return { displayName: latest.displayName, avatarUrl: latest.avatarUrl, searchText: [searchable(userId), ...[...names].sort()].join("\n") };
}

/**
 * Every substring of one to GRAM_LENGTH characters (code points, so a pair of surrogates stays
 * whole) of each word of a search text. A search word has no white space, so it lies in one word.
 */
export function directoryGrams(searchText: string): Set<string> {
  const grams = new Set<string>();
  for (const word of searchText.split(/\s+/)) {
    const chars = Array.from(word);
    for (let i = 0; i < chars.length; i++) {
      let gram = "";
      for (let n = i; n < chars.length && n < i + GRAM_LENGTH; n++) {
        gram += chars[n];
        grams.add(gram);
      }
    }
  }
  grams.delete("");
  return grams;
}

/** The grams a user matching the word has: the word itself when short, else its own grams of GRAM_LENGTH. */
function gramsOfWord(word: string): string[] {
  const chars = Array.from(word);
  if (chars.length <= GRAM_LENGTH) return [word];
  const grams = new Set<string>();
  for (let i = 0; i + GRAM_LENGTH <= chars.length; i++) grams.add(chars.slice(i, i + GRAM_LENGTH).join(""));
  return [...grams];
}

interface JoinRow {
  user_id: string;
  room_id: string;
  stream_ordering: number;
  display_name: string | null;
  avatar_url: string | null;
}

interface EntryRow {
  user_id: string;
  display_name: string | null;
  avatar_url: string | null;
  search_text: string;
}

const JOINS = "select user_id, room_id, stream_ordering, display_name, avatar_url from room_memberships where membership = 'join' and user_id in";

/** Join rows grouped by user. */
function joinsByUser(rows: readonly JoinRow[], into = new Map<string, DirectoryJoin[]>()): Map<string, DirectoryJoin[]> {
  for (const r of rows) {
    const join: DirectoryJoin = { roomId: r.room_id, streamOrdering: r.stream_ordering, displayName: r.display_name, avatarUrl: r.avatar_url };
    const list = into.get(r.user_id);
    if (list === undefined) into.set(r.user_id, [join]);
    else list.push(join);
  }
  return into;
}

/** Marks these users' directory rows stale, in `trx`: the membership index calls it in the transaction that changed them. */
export async function markDirectoryStale(db: Database, trx: Trx, userIds: Iterable<string>): Promise<void> {
  const rows = packedMap([...new Set(userIds)], (userId): SqlValue[] => [userId, 1]);
  await insertRows(
    db,
    trx,
    "insert into user_directory_stale (user_id, generation)",
    2,
    rows,
    " on conflict (user_id) do update set generation = user_directory_stale.generation + 1",
  );
}

/** Rewrites the directory rows (and their grams) of these users from their joins in room_memberships, in `trx`. */
async function refreshDirectoryUsers(db: Database, trx: Trx, users: readonly string[]): Promise<void> {
  if (users.length === 0) return;
  const joins = joinsByUser(await queryIn<JoinRow>(db, trx, JOINS, users));
  const stored = new Map<string, EntryRow>();
  for (const r of await queryIn<EntryRow>(db, trx, "select user_id, display_name, avatar_url, search_text from user_directory where user_id in", users)) stored.set(r.user_id, r);

  const upserts: SqlValue[][] = [];
  const gone: string[] = [];
  const added: SqlValue[][] = [];
  for (const userId of users) {
    const entry = directoryEntry(userId, joins.get(userId) ?? []);
    const old = stored.get(userId);
    if (entry === undefined) {
      if (old === undefined) continue;
      gone.push(userId);
      await deleteGrams(db, trx, userId, [...directoryGrams(old.search_text)]);
      continue;
    }
    if (old !== undefined && old.display_name === entry.displayName && old.avatar_url === entry.avatarUrl && old.search_text === entry.searchText) continue;
    upserts.push([userId, entry.displayName, entry.avatarUrl, entry.searchText]);
    if (old?.search_text === entry.searchText) continue;
    const before = old === undefined ? new Set<string>() : directoryGrams(old.search_text);
    const after = directoryGrams(entry.searchText);
    for (const gram of after) if (!before.delete(gram)) added.push([gram, userId]);
    await deleteGrams(db, trx, userId, [...before]);
  }
  if (gone.length > 0) await queryIn(db, trx, "delete from user_directory where user_id in", gone);
  await insertRows(
    db,
    trx,
    "insert into user_directory (user_id, display_name, avatar_url, search_text)",
    4,
    upserts,
    " on conflict (user_id) do update set display_name = excluded.display_name, avatar_url = excluded.avatar_url, search_text = excluded.search_text",
  );
  await insertRows(db, trx, "insert into user_directory_grams (gram, user_id)", 2, added, " on conflict do nothing");
}

/**
 * How many users each of `count` grams has, up to a limit, with the gram's place in the list. The
 * ORDER BY makes PostgreSQL walk the index and stop at the limit (a bitmap scan would read every row).
 */
function countText(count: number): string {
  return sqlText(`count ${count}`, () =>
    Array.from({ length: count }, (_, i) => `select ${i} as i, count(*) as n from (select 1 from user_directory_grams where gram = ? order by user_id limit ?) t${i}`).join(" union all "),
  );
}

async function deleteGrams(db: Database, trx: Trx, userId: string, grams: readonly string[]): Promise<void> {
  if (grams.length > 0) await queryIn(db, trx, "delete from user_directory_grams where user_id = ? and gram in", grams, "", [userId]);
}

/** A page of the users having a gram, in user ID order. */
export interface DirectoryCandidates {
  /** Those whose search text holds every word. */
  readonly userIds: string[];
  /** How many users of the gram were read. */
  readonly scanned: number;
  /** The last user read: the next page starts after it. */
  readonly last: string | undefined;
}

export class UserDirectoryStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * The gram to look the words up by: of the grams every match has, the one with the fewest users
   * (counted up to GRAM_COUNT_LIMIT). None when one of them has no user: nothing can match.
   */
  async gramFor(words: readonly string[]): Promise<string | undefined> {
    const grams = [...new Set(words.flatMap(gramsOfWord))].slice(0, GRAMS_COUNTED);
    if (grams.length === 1) return grams[0];
    // One statement counts them all (one round trip on PostgreSQL).
    const text = countText(grams.length);
    const rows = await this.#db.readOnce<{ i: number; n: number }>(
      "count_user_directory_grams",
      text,
      grams.flatMap((gram) => [gram, GRAM_COUNT_LIMIT]),
    );
    let best: { gram: string; count: number } | undefined;
    for (const row of rows) {
      const count = Number(row.n);
      if (count === 0) return undefined;
      const gram = grams[Number(row.i)] as string;
      if (best === undefined || count < best.count) best = { gram, count };
    }
    return best?.gram;
  }

  /** Up to `limit` users having the gram after `after` (in user ID order), and which of them hold every word. */
  async candidates(gram: string, words: readonly string[], after: string, limit: number): Promise<DirectoryCandidates> {
    const rows = await this.#db.readOnce<{ user_id: string; search_text: string | null }>(
      "search_user_directory",
      // Each text read by its key (a subquery, not a join, which PostgreSQL may make a hash join over the whole table).
      "select g.user_id, (select d.search_text from user_directory d where d.user_id = g.user_id) as search_text " +
        "from (select user_id from user_directory_grams where gram = ? and user_id > ? order by user_id limit ?) g order by g.user_id",
      [gram, after, limit],
    );
    const userIds: string[] = [];
    for (const r of rows) {
      const text = r.search_text;
      if (text !== null && words.every((w) => text.includes(w))) userIds.push(r.user_id);
    }
    return { userIds, scanned: rows.length, last: rows[rows.length - 1]?.user_id };
  }

  /** The joins of these users by user, each with its member event's profile. */
  async joins(userIds: readonly string[]): Promise<Map<string, DirectoryJoin[]>> {
    const out = new Map<string, DirectoryJoin[]>();
    for (const { statement, values } of inLists(JOINS, userIds)) {
      joinsByUser(await this.#db.readOnce<JoinRow>("get_user_directory_joins", statement, values), out);
    }
    return out;
  }

  /** The rooms the user is joined to. */
  async joinedRooms(userId: string): Promise<string[]> {
    const rows = await this.#db.readOnce<{ room_id: string }>(
      "get_user_directory_searcher_rooms",
      "select room_id from room_memberships where user_id = ? and membership = 'join'",
      [userId],
    );
    return rows.map((r) => r.room_id);
  }

  /**
   * Rewrites the directory rows of up to `limit` stale users (the first by user ID) and removes
   * their marks, unless a change marked them again meanwhile. Answers how many were taken: fewer
   * than `limit` when none are left.
   */
  async refreshStale(limit: number): Promise<number> {
    // Most calls find none (every search asks): then no write transaction at all.
    const any = await this.#db.readOnce<{ user_id: string }>("any_user_directory_stale", "select user_id from user_directory_stale limit 1", []);
    if (any.length === 0) return 0;
    // Background work: its WAL sync need not hold the event loop (Database.write).
    return await this.#db.write("refresh_user_directory", async (trx) => {
      const stale = await this.#db.query<{ user_id: string; generation: number }>(
        trx,
        "select user_id, generation from user_directory_stale order by user_id limit ?",
        [limit],
      );
      if (stale.length === 0) return 0;
      await refreshDirectoryUsers(this.#db, trx, stale.map((s) => s.user_id));
      for (const s of stale) {
        await this.#db.query(trx, "delete from user_directory_stale where user_id = ? and generation = ?", [s.user_id, s.generation]);
      }
      return stale.length;
    }, { syncInBackground: true });
  }

  /** The user's directory row, if they are joined anywhere. */
  async entry(userId: string): Promise<DirectoryEntry | undefined> {
    const row = await this.#db.read("get_user_directory_entry", (trx) =>
      trx.selectFrom("user_directory").select(["display_name", "avatar_url", "search_text"]).where("user_id", "=", userId).executeTakeFirst(),
    );
    return row === undefined ? undefined : { displayName: row.display_name, avatarUrl: row.avatar_url, searchText: row.search_text };
  }
}
