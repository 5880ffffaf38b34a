// Pushers (modules/push.md, pusher.yaml): where a user's devices want their push notifications
// sent. One row per (user, app_id, pushkey), as POST /pushers/set identifies them.
import type { Migration } from "./migration.ts";

export const pushers: Migration = {
  version: 20,
  name: "pushers",
  async up(db) {
    await db.schema
      .createTable("pushers")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("app_id", "text", (col) => col.notNull())
      .addColumn("pushkey", "text", (col) => col.notNull())
      .addColumn("kind", "text", (col) => col.notNull())
      .addColumn("app_display_name", "text", (col) => col.notNull())
      .addColumn("device_display_name", "text", (col) => col.notNull())
      .addColumn("profile_tag", "text")
      .addColumn("lang", "text", (col) => col.notNull())
      // PusherData as the client gave it (JSON text): url, format and custom keys.
      .addColumn("data", "text", (col) => col.notNull())
      // The device whose session set the pusher: it goes with the device. Null for a device-less token.
      .addColumn("device_id", "text")
      // When the pushkey was last set (push_notifier.yaml `pushkey_ts`), in milliseconds.
      .addColumn("pushkey_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("pushers_pkey", ["user_id", "app_id", "pushkey"])
      .execute();
    // Other users' pushers with the same app_id and pushkey (pusher.yaml `append`), and a gateway's rejected pushkeys.
    await db.schema.createIndex("pushers_app_id_pushkey").on("pushers").columns(["app_id", "pushkey"]).execute();
  },
};
