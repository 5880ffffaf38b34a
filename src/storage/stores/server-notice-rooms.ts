// Each user's server notices room (migration 027).
import type { Database } from "../database.ts";

export class ServerNoticeRoomStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async roomOf(userId: string): Promise<string | undefined> {
    const row = await this.#db.read("get_server_notice_room", (trx) =>
      trx.selectFrom("server_notice_rooms").select("room_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row?.room_id;
  }

  /** Whether the room is the server notices room of this user. */
  async isRoomOf(userId: string, roomId: string): Promise<boolean> {
    return (await this.roomOf(userId)) === roomId;
  }

  async set(userId: string, roomId: string): Promise<void> {
    await this.#db.write("set_server_notice_room", async (trx) => {
      await trx
        .insertInto("server_notice_rooms")
        .values({ user_id: userId, room_id: roomId })
        .onConflict((oc) => oc.column("user_id").doUpdateSet({ room_id: roomId }))
        .execute();
    });
  }
}
