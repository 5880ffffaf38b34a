// Device identity keys (modules/end_to_end_encryption.md#device-keys): the signed object each
// device uploaded through keys/upload, stored as uploaded.
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";
import { chunks } from "./room-state.ts";

export interface StoredDeviceKeys {
  readonly userId: string;
  readonly deviceId: string;
  readonly keys: JsonObject;
  /** The device's display name, for `unsigned.device_display_name`. */
  readonly displayName: string | null;
}

/** What was there when keys were stored: nothing (they are stored now) or the device's keys. */
export type PutDeviceKeysResult = { readonly stored: true } | { readonly stored: false; readonly existing: JsonObject };

export class DeviceKeyStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** Stores the device's keys unless it has some already (DeviceKeyStore.replace changes them). */
  async putIfAbsent(userId: string, deviceId: string, keys: JsonObject): Promise<PutDeviceKeysResult> {
    return await this.#db.write("put_device_keys", async (trx) => {
      const existing = await trx
        .selectFrom("e2e_device_keys")
        .select("key_json")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      if (existing !== undefined) return { stored: false, existing: JSON.parse(existing.key_json) as JsonObject };
      await trx
        .insertInto("e2e_device_keys")
        .values({ user_id: userId, device_id: deviceId, key_json: JSON.stringify(keys), added_ts: this.#now() })
        .execute();
      return { stored: true };
    });
  }

  /** Replaces the keys the device has. */
  async replace(userId: string, deviceId: string, keys: JsonObject): Promise<void> {
    await this.#db.write("replace_device_keys", (trx) =>
      trx
        .updateTable("e2e_device_keys")
        .set({ key_json: JSON.stringify(keys), added_ts: this.#now() })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute(),
    );
  }

  async get(userId: string, deviceId: string): Promise<JsonObject | undefined> {
    const row = await this.#db.read("get_device_keys", (trx) =>
      trx.selectFrom("e2e_device_keys").select("key_json").where("user_id", "=", userId).where("device_id", "=", deviceId).executeTakeFirst(),
    );
    return row === undefined ? undefined : (JSON.parse(row.key_json) as JsonObject);
  }

  /**
   * The keys of the users' devices (all of a user's devices when its list is empty), in one read.
   * The display name comes from the devices table in the same query: the join also means that
   * keys whose device is gone are never served, even before their clean-up has run.
   */
  async forUsers(query: ReadonlyMap<string, readonly string[]>): Promise<StoredDeviceKeys[]> {
    if (query.size === 0) return [];
    const allDevices = [...query].filter(([, deviceIds]) => deviceIds.length === 0).map(([userId]) => userId);
    const someDevices = [...query].flatMap(([userId, deviceIds]) => deviceIds.map((deviceId) => ({ userId, deviceId })));
    return await this.#db.read("get_device_keys_of_users", async (trx) => {
      const base = () =>
        trx
          .selectFrom("e2e_device_keys as k")
          .innerJoin("devices as d", (join) => join.onRef("d.user_id", "=", "k.user_id").onRef("d.device_id", "=", "k.device_id"))
          .select(["k.user_id", "k.device_id", "k.key_json", "d.display_name"]);
      const rows: { user_id: string; device_id: string; key_json: string; display_name: string | null }[] = [];
      for (const chunk of chunks(allDevices)) rows.push(...(await base().where("k.user_id", "in", chunk).execute()));
      for (const chunk of chunks(someDevices, 200)) {
        rows.push(
          ...(await base()
            .where((eb) => eb.or(chunk.map((d) => eb.and([eb("k.user_id", "=", d.userId), eb("k.device_id", "=", d.deviceId)]))))
            .execute()),
        );
      }
      return rows.map((r) => ({
        userId: r.user_id,
        deviceId: r.device_id,
        keys: JSON.parse(r.key_json) as JsonObject,
        displayName: r.display_name,
      }));
    });
  }

  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.#db.write("delete_device_keys", async (trx) => {
      for (const chunk of chunks(deviceIds)) {
        await trx.deleteFrom("e2e_device_keys").where("user_id", "=", userId).where("device_id", "in", chunk).execute();
      }
    });
  }
}
