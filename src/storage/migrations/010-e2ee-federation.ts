// End-to-end encryption over federation (server-server-api#device-management): the sequence of
// m.device_list_update EDUs each local user's device changes are sent in (stream_id, prev_id),
// and the cache of other servers' users' device lists, kept up to date by those EDUs.
import type { Migration } from "./migration.ts";

export const e2eeFederation: Migration = {
  version: 10,
  name: "e2ee-federation",
  async up(db) {
    // The stream_id of the last m.device_list_update sent for each local user: the next one is
    // one more, and names this one in its prev_id.
    await db.schema
      .createTable("e2e_device_list_outbound")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("stream_id", "bigint", (col) => col.notNull())
      .execute();

    // Other servers' users whose device lists are cached: the stream_id the cache is at (from
    // GET /user/devices, then each EDU applied), and their master and self-signing keys.
    await db.schema
      .createTable("e2e_remote_device_lists")
      .addColumn("user_id", "text", (col) => col.primaryKey())
      .addColumn("stream_id", "bigint", (col) => col.notNull())
      .addColumn("master_key_json", "text")
      .addColumn("self_signing_key_json", "text")
      .addColumn("updated_ts", "bigint", (col) => col.notNull())
      .execute();

    // Their devices: the signed keys (absent for a device without keys) and the display name the
    // server gave, if any.
    await db.schema
      .createTable("e2e_remote_devices")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("keys_json", "text")
      .addColumn("display_name", "text")
      .addPrimaryKeyConstraint("e2e_remote_devices_pkey", ["user_id", "device_id"])
      .execute();
  },
};
