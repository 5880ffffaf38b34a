// The rooms a server admin blocked (migration 026), each with who blocked it.
import type { Database } from "../database.ts";

export class BlockedRoomStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Every blocked room with the admin who blocked it (they are few: the server keeps them in memory). */
  async all(): Promise<Map<string, string>> {
    const rows = await this.#db.read("get_blocked_rooms", (trx) => trx.selectFrom("blocked_rooms").select(["room_id", "blocked_by"]).execute());
    return new Map(rows.map((row) => [row.room_id, row.blocked_by]));
  }

  /** Blocks the room, or lifts the block; blocking it again keeps who blocked it first. */
  async set(roomId: string, blocked: boolean, by: string, now: number): Promise<void> {
    await this.#db.write("set_blocked_room", async (trx) => {
      if (!blocked) await trx.deleteFrom("blocked_rooms").where("room_id", "=", roomId).execute();
      else await trx.insertInto("blocked_rooms").values({ room_id: roomId, blocked_by: by, blocked_ts: now }).onConflict((oc) => oc.column("room_id").doNothing()).execute();
    });
  }
}
