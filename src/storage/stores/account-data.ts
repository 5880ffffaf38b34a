// Account data (modules/account_data.md) stored as a stream: every change replaces the row of its
// (user, room, type) with a new one, whose auto-increment stream_id is the change's position. Sync
// asks for `stream_id > since`. Global account data has room_id ''.
//
// Positions must become visible in order: a reader that saw position 7 must never later find a 6
// committed behind it. The SQLite writer is serial; on PostgreSQL, transactions may commit in
// another order than they took their IDs, so account data writes to one database run one at a time
// in the process (whichever store instance makes them).
import type { JsonObject } from "../../core/json.ts";
import type { Database, Trx } from "../database.ts";

export const GLOBAL_ROOM = "";

export interface AccountDataEntry {
  streamId: number;
  userId: string;
  /** Undefined for global account data. */
  roomId: string | undefined;
  type: string;
  content: JsonObject;
}

function toEntry(row: { stream_id: number; user_id: string; room_id: string; type: string; content: string }): AccountDataEntry {
  return {
    streamId: row.stream_id,
    userId: row.user_id,
    roomId: row.room_id === GLOBAL_ROOM ? undefined : row.room_id,
    type: row.type,
    content: JSON.parse(row.content) as JsonObject,
  };
}

/** The last account data write queued per database. */
const writeTails = new WeakMap<Database, Promise<unknown>>();

export class AccountDataStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Runs account data writes one after another, so stream positions commit in order. */
  #serially<T>(run: () => Promise<T>): Promise<T> {
    const result = (writeTails.get(this.#db) ?? Promise.resolve()).then(run, run);
    writeTails.set(this.#db, result.catch(() => undefined));
    return result;
  }

  /** Sets the content of one type; returns the new stream position. */
  async put(userId: string, roomId: string | undefined, type: string, content: JsonObject): Promise<number> {
    return await this.update(userId, roomId, type, () => content).then((r) => r.streamId);
  }

  /**
   * Reads, transforms and writes one entry in a single transaction (room tags are edited so);
   * returns the content written and its stream position.
   */
  async update(
    userId: string,
    roomId: string | undefined,
    type: string,
    change: (current: JsonObject | undefined) => JsonObject,
  ): Promise<{ streamId: number; content: JsonObject }> {
    const room = roomId ?? GLOBAL_ROOM;
    return await this.#serially(() =>
      this.#db.write("put_account_data", async (trx) => {
        const current = await selectOne(trx, userId, room, type);
        const content = change(current === undefined ? undefined : (JSON.parse(current.content) as JsonObject));
        await trx.deleteFrom("account_data").where("user_id", "=", userId).where("room_id", "=", room).where("type", "=", type).execute();
        const row = await trx
          .insertInto("account_data")
          .values({ user_id: userId, room_id: room, type, content: JSON.stringify(content) })
          .returning("stream_id")
          .executeTakeFirstOrThrow();
        return { streamId: row.stream_id, content };
      }),
    );
  }

  async get(userId: string, roomId: string | undefined, type: string): Promise<JsonObject | undefined> {
    const row = await this.#db.read("get_account_data", (trx) => selectOne(trx, userId, roomId ?? GLOBAL_ROOM, type));
    return row === undefined ? undefined : (JSON.parse(row.content) as JsonObject);
  }

  /** The user's entries in one room, by type. */
  async roomEntries(userId: string, roomId: string): Promise<{ type: string; content: JsonObject }[]> {
    const rows = await this.#db.read("get_room_account_data", (trx) =>
      trx.selectFrom("account_data").select(["type", "content"]).where("user_id", "=", userId).where("room_id", "=", roomId).orderBy("type").execute(),
    );
    return rows.map((row) => ({ type: row.type, content: JSON.parse(row.content) as JsonObject }));
  }

  /** The user's entries changed after stream position `since`, in stream order. */
  async changesSince(userId: string, since: number, limit = 1000): Promise<AccountDataEntry[]> {
    const rows = await this.#db.read("account_data_changes_since", (trx) =>
      trx
        .selectFrom("account_data")
        .selectAll()
        .where("user_id", "=", userId)
        .where("stream_id", ">", since)
        .orderBy("stream_id")
        .limit(limit)
        .execute(),
    );
    return rows.map(toEntry);
  }

  /** The highest stream position written so far (0 for none). */
  async maxStreamId(): Promise<number> {
    const row = await this.#db.read("account_data_max_stream_id", (trx) =>
      trx.selectFrom("account_data").select((eb) => eb.fn.max("stream_id").as("max")).executeTakeFirst(),
    );
    return Number(row?.max ?? 0);
  }

  /** Deletes all of a user's account data (deactivation with `erase`). */
  async eraseUser(userId: string): Promise<void> {
    await this.#serially(() => this.#db.write("erase_account_data", (trx) => trx.deleteFrom("account_data").where("user_id", "=", userId).execute()));
  }
}

function selectOne(trx: Trx, userId: string, room: string, type: string) {
  return trx
    .selectFrom("account_data")
    .selectAll()
    .where("user_id", "=", userId)
    .where("room_id", "=", room)
    .where("type", "=", type)
    .executeTakeFirst();
}
