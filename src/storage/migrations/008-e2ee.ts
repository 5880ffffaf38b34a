// End-to-end encryption (issue 6): device keys, one-time and fallback keys, cross-signing keys and
// signatures, the device-list stream, to-device messages and server-side key backups.
// modules/end_to_end_encryption.md, modules/send_to_device.md
import type { Migration } from "./migration.ts";
import { addAutoIncrementId, addFlagColumn } from "./migration.ts";

export const e2ee: Migration = {
  version: 8,
  name: "e2ee",
  async up(db, engine) {
    // #device-keys: the signed object each device uploaded, as uploaded (one per device).
    await db.schema
      .createTable("e2e_device_keys")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("key_json", "text", (col) => col.notNull())
      .addColumn("added_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("e2e_device_keys_pkey", ["user_id", "device_id"])
      .execute();

    // #one-time-and-fallback-keys: keys/claim hands them out in upload order, so each has a
    // position (`id`); one (algorithm, key ID) per device.
    const oneTimeKeys = addAutoIncrementId(db.schema.createTable("e2e_one_time_keys"), engine, "id");
    await oneTimeKeys
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("algorithm", "text", (col) => col.notNull())
      .addColumn("key_id", "text", (col) => col.notNull())
      .addColumn("key_json", "text", (col) => col.notNull())
      .addUniqueConstraint("e2e_one_time_keys_key", ["user_id", "device_id", "algorithm", "key_id"])
      .execute();
    await db.schema
      .createIndex("e2e_one_time_keys_claim_idx")
      .on("e2e_one_time_keys")
      .columns(["user_id", "device_id", "algorithm", "id"])
      .execute();

    // keys.yaml `fallback_keys`: at most one per algorithm, kept when claimed but marked used.
    const fallbackKeys = db.schema
      .createTable("e2e_fallback_keys")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("algorithm", "text", (col) => col.notNull())
      .addColumn("key_id", "text", (col) => col.notNull())
      .addColumn("key_json", "text", (col) => col.notNull());
    await addFlagColumn(fallbackKeys, "used").addPrimaryKeyConstraint("e2e_fallback_keys_pkey", ["user_id", "device_id", "algorithm"]).execute();

    // #cross-signing: the user's current master, self-signing and user-signing keys, as uploaded.
    await db.schema
      .createTable("e2e_cross_signing_keys")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("key_type", "text", (col) => col.notNull())
      .addColumn("public_key", "text", (col) => col.notNull())
      .addColumn("key_json", "text", (col) => col.notNull())
      .addColumn("added_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("e2e_cross_signing_keys_pkey", ["user_id", "key_type"])
      .execute();

    // Signatures uploaded through keys/signatures/upload, apart from the objects they sign, so
    // keys/query can show each requester only those it may see (#key-and-signature-security).
    // target_key_id is a device ID or a master key's public key.
    await db.schema
      .createTable("e2e_cross_signing_signatures")
      .addColumn("signer_user_id", "text", (col) => col.notNull())
      .addColumn("signer_key_id", "text", (col) => col.notNull())
      .addColumn("target_user_id", "text", (col) => col.notNull())
      .addColumn("target_key_id", "text", (col) => col.notNull())
      .addColumn("signature", "text", (col) => col.notNull())
      .addPrimaryKeyConstraint("e2e_cross_signing_signatures_pkey", ["target_user_id", "target_key_id", "signer_user_id", "signer_key_id"])
      .execute();

    // The device-list stream (#tracking-the-device-list-for-a-user): a row per thing a syncing
    // client may have to re-query keys for. kind 'keys': user_id's devices or cross-signing keys
    // changed (observer_user_id '' for everyone sharing a room with them, or the one user who may
    // see it); kind 'member': user_id's membership of room_id changed. A newer row replaces the
    // older one of the same (user_id, room_id, observer_user_id), so the table stays as large as
    // what it describes, not as its history.
    const deviceLists = addAutoIncrementId(db.schema.createTable("e2e_device_list_stream"), engine, "stream_id");
    await deviceLists
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("kind", "text", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("observer_user_id", "text", (col) => col.notNull())
      .addUniqueConstraint("e2e_device_list_stream_key", ["user_id", "room_id", "observer_user_id"])
      .execute();

    // send_to_device.md#server-behaviour: pending messages per device, in order of arrival.
    const toDevice = addAutoIncrementId(db.schema.createTable("to_device_messages"), engine, "stream_id");
    await toDevice
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("message_json", "text", (col) => col.notNull())
      .execute();
    await db.schema.createIndex("to_device_messages_device_idx").on("to_device_messages").columns(["user_id", "device_id", "stream_id"]).execute();

    // client-server-api#transaction-identifiers: a sendToDevice transaction is applied once per device.
    await db.schema
      .createTable("to_device_txns")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("device_id", "text", (col) => col.notNull())
      .addColumn("txn_id", "text", (col) => col.notNull())
      .addColumn("created_ts", "bigint", (col) => col.notNull())
      .addPrimaryKeyConstraint("to_device_txns_pkey", ["user_id", "device_id", "txn_id"])
      .execute();

    // #server-side-key-backups: versions per user (numbered 1, 2, ...; a deleted one keeps its number)
    // and the session keys of each; etag changes whenever the stored keys do.
    const backupVersions = db.schema
      .createTable("room_key_backup_versions")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("version", "bigint", (col) => col.notNull())
      .addColumn("algorithm", "text", (col) => col.notNull())
      .addColumn("auth_data", "text", (col) => col.notNull())
      .addColumn("etag", "bigint", (col) => col.notNull());
    await addFlagColumn(backupVersions, "deleted")
      .addPrimaryKeyConstraint("room_key_backup_versions_pkey", ["user_id", "version"])
      .execute();
    const backupKeys = db.schema
      .createTable("room_key_backup_keys")
      .addColumn("user_id", "text", (col) => col.notNull())
      .addColumn("version", "bigint", (col) => col.notNull())
      .addColumn("room_id", "text", (col) => col.notNull())
      .addColumn("session_id", "text", (col) => col.notNull())
      .addColumn("first_message_index", "bigint", (col) => col.notNull())
      .addColumn("forwarded_count", "bigint", (col) => col.notNull())
      .addColumn("session_data", "text", (col) => col.notNull());
    await addFlagColumn(backupKeys, "is_verified")
      .addPrimaryKeyConstraint("room_key_backup_keys_pkey", ["user_id", "version", "room_id", "session_id"])
      .execute();
  },
};
