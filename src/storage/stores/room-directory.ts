// The published room directory (client-server-api#published-room-directory): the rooms whose
// visibility is "public" here. Absent rooms are "private".
import type { Database } from "../database.ts";

export class RoomDirectoryStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async setPublished(roomId: string, published: boolean, now: number): Promise<void> {
    await this.#db.write("set_room_directory_visibility", async (trx) => {
      if (!published) {
        await trx.deleteFrom("room_directory").where("room_id", "=", roomId).execute();
        return;
      }
      await trx
        .insertInto("room_directory")
        .values({ room_id: roomId, published_ts: now })
        .onConflict((oc) => oc.column("room_id").doNothing())
        .execute();
    });
  }

  async isPublished(roomId: string): Promise<boolean> {
    const row = await this.#db.read("get_room_directory_visibility", (trx) =>
      trx.selectFrom("room_directory").select("room_id").where("room_id", "=", roomId).executeTakeFirst(),
    );
    return row !== undefined;
  }

  /** Every published room, in the order they were published. */
  async published(): Promise<string[]> {
    const rows = await this.#db.read("get_published_rooms", (trx) =>
      trx.selectFrom("room_directory").select("room_id").orderBy("published_ts").orderBy("room_id").execute(),
    );
    return rows.map((r) => r.room_id);
  }
}
