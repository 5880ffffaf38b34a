// Room aliases hosted here (client-server-api#room-aliases): alias -> room ID, with who made it.
import { isUniqueViolation } from "../errors.ts";
import type { Database } from "../database.ts";

export interface StoredAlias {
  readonly roomAlias: string;
  readonly roomId: string;
  readonly creator: string;
}

export class AliasStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Creates the mapping; false when the alias exists already. */
  async create(roomAlias: string, roomId: string, creator: string, now: number): Promise<boolean> {
    try {
      await this.#db.write("create_room_alias", (trx) =>
        trx.insertInto("room_aliases").values({ room_alias: roomAlias, room_id: roomId, creator, created_ts: now }).execute(),
      );
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async get(roomAlias: string): Promise<StoredAlias | undefined> {
    const row = await this.#db.read("get_room_alias", (trx) =>
      trx.selectFrom("room_aliases").select(["room_alias", "room_id", "creator"]).where("room_alias", "=", roomAlias).executeTakeFirst(),
    );
    return row === undefined ? undefined : { roomAlias: row.room_alias, roomId: row.room_id, creator: row.creator };
  }

  /** Removes the mapping; false when there was none. */
  async delete(roomAlias: string): Promise<boolean> {
    const result = await this.#db.write("delete_room_alias", (trx) => trx.deleteFrom("room_aliases").where("room_alias", "=", roomAlias).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  /** The room's aliases, oldest first. */
  async forRoom(roomId: string): Promise<string[]> {
    const rows = await this.#db.read("get_room_aliases", (trx) =>
      trx.selectFrom("room_aliases").select("room_alias").where("room_id", "=", roomId).orderBy("created_ts").orderBy("room_alias").execute(),
    );
    return rows.map((r) => r.room_alias);
  }

  /** Points every alias of one room at another (room upgrades); returns those moved. */
  async moveRoom(fromRoomId: string, toRoomId: string): Promise<string[]> {
    return await this.#db.write("move_room_aliases", async (trx) => {
      const rows = await trx.selectFrom("room_aliases").select("room_alias").where("room_id", "=", fromRoomId).execute();
      await trx.updateTable("room_aliases").set({ room_id: toRoomId }).where("room_id", "=", fromRoomId).execute();
      return rows.map((r) => r.room_alias);
    });
  }
}
