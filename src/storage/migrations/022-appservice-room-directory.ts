// The application services' published room directories (application-service-api#published-room-
// directories, appservice_room_directory.yaml): the rooms a service lists under one of its
// networks, which /publicRooms lists for that network's third_party_instance_id.
import type { Migration } from "./migration.ts";

export const appserviceRoomDirectory: Migration = {
  version: 22,
  name: "appservice-room-directory",
  async up(db) {
    await db.schema
      .createTable("appservice_room_directory")
      .addColumn("appservice_id", "text", (col) => col.notNull())
      // The path's networkId, as the service gave it.
      .addColumn("network_id", "text", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("published_ts", "bigint", (col) => col.notNull())
      // A network's list is read by its (appservice_id, network_id) prefix.
      .addPrimaryKeyConstraint("appservice_room_directory_pkey", ["appservice_id", "network_id", "room_id"])
      .execute();
  },
};
