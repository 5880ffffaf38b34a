// The application services' published room directories (migration 022, appservice_room_directory.yaml):
// the rooms each service lists under each of its networks. Absent rooms are "private" there.
import type { Database } from "../database.ts";

export class AppserviceRoomDirectoryStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async setPublished(appserviceId: string, networkId: string, roomId: string, published: boolean, now: number): Promise<void> {
    await this.#db.write("set_appservice_room_directory_visibility", async (trx) => {
      if (!published) {
        await trx
          .deleteFrom("appservice_room_directory")
          .where("appservice_id", "=", appserviceId)
          .where("network_id", "=", networkId)
          .where("room_id", "=", roomId)
          .execute();
        return;
      }
      await trx
        .insertInto("appservice_room_directory")
        .values({ appservice_id: appserviceId, network_id: networkId, room_id: roomId, published_ts: now })
        .onConflict((oc) => oc.columns(["appservice_id", "network_id", "room_id"]).doNothing())
        .execute();
    });
  }

  /** The rooms published under one service's network, in the order they were published. */
  async published(appserviceId: string, networkId: string): Promise<string[]> {
    const rows = await this.#db.read("get_appservice_network_rooms", (trx) =>
      trx
        .selectFrom("appservice_room_directory")
        .select("room_id")
        .where("appservice_id", "=", appserviceId)
        .where("network_id", "=", networkId)
        .orderBy("published_ts")
        .orderBy("room_id")
        .execute(),
    );
    return rows.map((r) => r.room_id);
  }

  /** Every room published under any network of these services, each once. */
  async publishedOnAnyNetwork(appserviceIds: readonly string[]): Promise<string[]> {
    if (appserviceIds.length === 0) return [];
    const rows = await this.#db.read("get_appservice_networks_rooms", (trx) =>
      trx.selectFrom("appservice_room_directory").select("room_id").distinct().where("appservice_id", "in", appserviceIds).orderBy("room_id").execute(),
    );
    return rows.map((r) => r.room_id);
  }
}
