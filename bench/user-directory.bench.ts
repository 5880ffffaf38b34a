// The user directory (POST /user_directory/search, client-server-api#user-directory): 5,000 users
// joined across 20 public rooms (about 10,000 joins, each with a display name), through the room
// engine and the membership index, the directory's rows rewritten in the background as the server
// does it. The figure is the median latency of UserDirectoryService.search over 200 searches of
// one to three letters and of words, against the search this replaced, kept here as the baseline:
// every search joined the joined memberships of the searcher's and the open rooms with their member
// events, took each user's latest by row_number() and filtered with LIKE. Same database, same process, same terms.
// SQLite; PostgreSQL too with WEFT_BENCH_POSTGRES=1 (at WEFT_TEST_POSTGRES_URL, in a schema of its own).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { signingKeyFromSeed } from "../src/core/crypto/ed25519.ts";
import { membershipIndexSource } from "../src/homeserver/rooms/engine-reads.ts";
import { MembershipIndex } from "../src/homeserver/rooms/membership-index.ts";
import { RoomStateReader } from "../src/homeserver/rooms/room-state.ts";
import { UserDirectoryService } from "../src/homeserver/rooms/user-directory.ts";
import { MemoryKeyRing, Roomserver } from "../src/homeserver/roomserver/index.ts";
import type { Database, DatabaseConfig } from "../src/storage/database.ts";
import { openDatabase } from "../src/storage/database.ts";
import type { Engine } from "../src/storage/engine.ts";
import { MembershipStore } from "../src/storage/stores/memberships.ts";
import { UserDirectoryStore } from "../src/storage/stores/user-directory.ts";
import { createTestStorage } from "../test/storage/engines.ts";
import { median, percentile, printFigure } from "./lib.ts";

const USERS = Number(process.env.WEFT_BENCH_DIRECTORY_USERS ?? 5_000);
const ROOMS = 20;
const SEARCHES = 200;
const SERVER = "bench.local";

const FIRST = ["Alice", "Bob", "Carol", "Dmitri", "Erin", "Farah", "Gustavo", "Hiro", "Ingrid", "Jamal", "Kasia", "Liam", "Maria", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe"];
const LAST = ["Anderson", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ivanova", "Johnson", "Kowalski", "Lee", "Martin", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Williams", "Xu", "Young", "Zhang", "Smith", "Jones", "Taylor", "Moore", "Walker"];

/** What a client's invite dialog sends while the user types: one to three letters, and words. */
const TERMS = ["a", "e", "m", "z", "q", "al", "jo", "ma", "xi", "ro", "ann", "mar", "son", "che", "vik", "alice", "johnson", "maria lee", "tanaka", "zoe xu", "okafor", "petrov", "nobodyhere", "user", "ingrid s"];

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/** The search the directory's tables replaced, as it was: the baseline. */
class FormerDirectory {
  readonly #db: Database;
  readonly #states: RoomStateReader;
  readonly #open = new Map<string, boolean>();

  constructor(db: Database, states: RoomStateReader) {
    this.#db = db;
    this.#states = states;
  }

  async search(searcher: string, term: string, limit: number): Promise<unknown[]> {
    const words = term.toLowerCase().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) return [];
    const openRooms: string[] = [];
    const withMembers = await this.#db.read("bench_rooms_with_members", (trx) =>
      trx.selectFrom("room_memberships").select("room_id").where("membership", "=", "join").distinct().execute(),
    );
    for (const { room_id: roomId } of withMembers) {
      let isOpen = this.#open.get(roomId);
      if (isOpen === undefined) {
        const state = await this.#states.current(roomId);
        isOpen =
          state !== undefined &&
          ((await state.stringField("m.room.join_rules", "join_rule")) === "public" ||
            (await state.stringField("m.room.history_visibility", "history_visibility")) === "world_readable");
        this.#open.set(roomId, isOpen);
      }
      if (isOpen) openRooms.push(roomId);
    }
    const content = (field: string) =>
      this.#db.engine === "sqlite" ? sql<string | null>`json_extract(e.json, ${`$.content.${field}`})` : sql<string | null>`(e.json::jsonb -> 'content' ->> ${field})`;
    return await this.#db.read("bench_former_search", async (trx) => {
      const latest = trx
        .selectFrom("room_memberships as m")
        .innerJoin("events as e", "e.event_id", "m.event_id")
        .select([
          "m.user_id as user_id",
          content("displayname").as("display_name"),
          content("avatar_url").as("avatar_url"),
          sql<number>`row_number() over (partition by m.user_id order by m.stream_ordering desc)`.as("n"),
        ])
        .where("m.membership", "=", "join")
        .where((eb) =>
          eb.or([
            eb("m.room_id", "in", eb.selectFrom("room_memberships as mine").select("mine.room_id").where("mine.user_id", "=", searcher).where("mine.membership", "=", "join")),
            ...(openRooms.length === 0 ? [] : [eb("m.room_id", "in", openRooms)]),
          ]),
        );
      let query = trx.selectFrom(latest.as("u")).select(["u.user_id", "u.display_name", "u.avatar_url"]).where("u.n", "=", 1);
      for (const word of words) {
        const pattern = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where((eb) =>
          eb.or([eb(sql`lower(u.user_id)`, "like", sql`${pattern} escape '\\'`), eb(sql`lower(coalesce(u.display_name, ''))`, "like", sql`${pattern} escape '\\'`)]),
        );
      }
      return await query.orderBy("u.user_id").limit(limit + 1).execute();
    });
  }
}

async function timeSearches(search: (term: string) => Promise<unknown>): Promise<number[]> {
  for (const term of TERMS) await search(term);
  const times: number[] = [];
  for (let i = 0; i < SEARCHES; i++) {
    const started = performance.now();
    await search(pick(TERMS, i));
    times.push(performance.now() - started);
  }
  return times;
}

async function storageFor(engine: Engine): Promise<{ config: DatabaseConfig; drop: () => Promise<void> }> {
  if (engine === "postgres") return await createTestStorage("postgres");
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-directory-"));
  return { config: { engine: "sqlite", path: join(dir, "weft.db") }, drop: () => rm(dir, { recursive: true, force: true }) };
}

async function benchOn(engine: Engine): Promise<void> {
  const storage = await storageFor(engine);
  const db = await openDatabase(storage.config);
  const keyRing = new MemoryKeyRing();
  const roomserver = new Roomserver({ db, serverName: SERVER, signingKey: signingKeyFromSeed(new Uint8Array(32).fill(5), "d"), keyRing });
  const states = new RoomStateReader(roomserver);
  const directory = new UserDirectoryService({ store: new UserDirectoryStore(db), states });
  // As the server runs it: the index marks the users it changes, and the directory rewrites them in the background.
  const index = new MembershipIndex(new MembershipStore(db), membershipIndexSource(roomserver), {
    checkpointIntervalMs: 0,
    onChanged: () => directory.refreshSoon(),
  });
  try {
    await index.start();
    const owner = `@owner:${SERVER}`;
    const rooms: string[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const { roomId } = await roomserver.createRoom({ roomVersion: "10", creator: owner });
      await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: owner, sender: owner, content: { membership: "join" } });
      await roomserver.createLocalEvent({ roomId, type: "m.room.power_levels", stateKey: "", sender: owner, content: { users: { [owner]: 100 } } });
      await roomserver.createLocalEvent({ roomId, type: "m.room.join_rules", stateKey: "", sender: owner, content: { join_rule: "public" } });
      rooms.push(roomId);
    }
    // Each user joins one to three rooms: the rooms take their joins side by side, in three rounds
    // (a user's first joins, then their second, then their third), so that no user joins two rooms
    // at once (on PostgreSQL, two rooms persisting the same new member key at once conflict).
    const started = performance.now();
    const rounds = [new Map<string, Array<{ userId: string; displayname: string }>>(), new Map(), new Map()] as const;
    let joins = 0;
    for (let i = 0; i < USERS; i++) {
      const first = pick(FIRST, i);
      const last = pick(LAST, Math.floor(i / FIRST.length) * 7 + i);
      const userId = `@${first.toLowerCase()}.${last.toLowerCase()}${i}:${SERVER}`;
      for (let k = 0; k <= i % 3; k++) {
        const roomId = pick(rooms, i + k * 7);
        const round = rounds[k] as Map<string, Array<{ userId: string; displayname: string }>>;
        round.set(roomId, [...(round.get(roomId) ?? []), { userId, displayname: `${first} ${last}` }]);
        joins++;
      }
    }
    let lastPosition = 0;
    for (const round of rounds) {
      await Promise.all(
        [...round].map(async ([roomId, list]) => {
          for (const { userId, displayname } of list) {
            const sent = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: userId, sender: userId, content: { membership: "join", displayname } });
            lastPosition = Math.max(lastPosition, sent.streamOrdering ?? 0);
          }
        }),
      );
    }
    await index.waitUntil(lastPosition);
    const filledMs = performance.now() - started;
    await directory.refresh();
    const refreshedMs = performance.now() - started;
    const counts = await db.read("bench_counts", async (trx) => ({
      users: (await trx.selectFrom("user_directory").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n,
      grams: (await trx.selectFrom("user_directory_grams").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n,
    }));
    console.log(`  [${engine}] ${joins.toLocaleString("en-US")} joins of ${USERS.toLocaleString("en-US")} users in ${ROOMS} public rooms through the room engine in ${(filledMs / 1000).toFixed(1)} s, the directory written beside them and done ${((refreshedMs - filledMs) / 1000).toFixed(1)} s later; ${Number(counts.users).toLocaleString("en-US")} users, ${Number(counts.grams).toLocaleString("en-US")} grams`);

    const former = new FormerDirectory(db, states);
    const searcher = `@searcher:${SERVER}`;
    await roomserver.createLocalEvent({ roomId: rooms[0] as string, type: "m.room.member", stateKey: searcher, sender: searcher, content: { membership: "join" } });
    await index.waitUntil(index.position);

    // The two agree on every term (the baseline's profile is of the latest visible join too).
    for (const term of TERMS) {
      const now = ((await directory.search(searcher, term, 10))["results"] as Array<{ user_id: string }>).map((r) => r.user_id);
      const then = ((await former.search(searcher, term, 10)) as Array<{ user_id: string }>).slice(0, 10).map((r) => r.user_id);
      if (JSON.stringify(now) !== JSON.stringify(then)) throw new Error(`the searches disagree on "${term}": ${JSON.stringify(now)} against ${JSON.stringify(then)}`);
    }

    const baseline = await timeSearches((term) => former.search(searcher, term, 10));
    const times = await timeSearches((term) => directory.search(searcher, term, 10));
    printFigure({
      name: `[${engine}] POST /user_directory/search, ${USERS.toLocaleString("en-US")} users in ${ROOMS} public rooms (median of ${SEARCHES}: 1-3 letters and words, limit 10)`,
      value: median(times),
      unit: "ms",
      better: "lower",
      baseline: { name: "the former search (joined memberships with their member events, per search)", value: median(baseline) },
    });
    console.log(`  [${engine}] p95: ${percentile(times, 0.95).toFixed(2)} ms, former ${percentile(baseline, 0.95).toFixed(2)} ms; slowest: ${Math.max(...times).toFixed(2)} ms, former ${Math.max(...baseline).toFixed(2)} ms`);
  } finally {
    await index.close();
    await directory.close();
    await db.close();
    await storage.drop();
  }
}

export async function userDirectoryBench(): Promise<void> {
  await benchOn("sqlite");
  if (process.env.WEFT_BENCH_POSTGRES === "1") await benchOn("postgres");
}
