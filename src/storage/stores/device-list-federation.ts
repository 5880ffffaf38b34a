// Device lists over federation (server-server-api#device-management):
// - the outbound sequence: the stream_id of the last m.device_list_update sent for each local
//   user (the next ones follow it, one apart, so each names the one before in prev_id);
// - the cache of other servers' users' device lists: the stream_id it is at, their master and
//   self-signing keys, and their devices' keys and names.
import type { JsonObject } from "../../core/json.ts";
import type { Database, Trx } from "../database.ts";
import { chunks } from "./room-state.ts";

export interface RemoteDevice {
  readonly deviceId: string;
  /** The device's signed keys; undefined for a device without keys. */
  readonly keys: JsonObject | undefined;
  readonly displayName: string | undefined;
}

export interface RemoteDeviceList {
  readonly userId: string;
  readonly streamId: number;
  readonly masterKey: JsonObject | undefined;
  readonly selfSigningKey: JsonObject | undefined;
}

export interface RemoteDeviceListSnapshot extends RemoteDeviceList {
  readonly devices: readonly RemoteDevice[];
}

const parse = (json: string | null): JsonObject | undefined => (json === null ? undefined : (JSON.parse(json) as JsonObject));
const text = (object: JsonObject | undefined): string | null => (object === undefined ? null : JSON.stringify(object));

export class DeviceListFederationStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * Takes the next `count` stream_ids of the user's outbound sequence; returns the last one taken
   * (the first is last - count + 1, and the one before it, last - count, is 0 at the start).
   */
  async takeOutboundStreamIds(userId: string, count: number): Promise<number> {
    const row = await this.#db.write("take_device_list_outbound_ids", (trx) =>
      trx
        .insertInto("e2e_device_list_outbound")
        .values({ user_id: userId, stream_id: count })
        .onConflict((oc) => oc.column("user_id").doUpdateSet((eb) => ({ stream_id: eb("e2e_device_list_outbound.stream_id", "+", count) })))
        .returning("stream_id")
        .executeTakeFirstOrThrow(),
    );
    return Number(row.stream_id);
  }

  /** The stream_id of the last update sent for the user (0 for none). */
  async outboundStreamId(userId: string): Promise<number> {
    const row = await this.#db.read("get_device_list_outbound_id", (trx) =>
      trx.selectFrom("e2e_device_list_outbound").select("stream_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row === undefined ? 0 : Number(row.stream_id);
  }

  /** The cached lists of those of the users whose list is cached (devices not included). */
  async remoteLists(userIds: readonly string[]): Promise<Map<string, RemoteDeviceList>> {
    const out = new Map<string, RemoteDeviceList>();
    if (userIds.length === 0) return out;
    await this.#db.read("get_remote_device_lists", async (trx) => {
      for (const chunk of chunks(userIds)) {
        const rows = await trx.selectFrom("e2e_remote_device_lists").selectAll().where("user_id", "in", chunk).execute();
        for (const r of rows) {
          out.set(r.user_id, {
            userId: r.user_id,
            streamId: Number(r.stream_id),
            masterKey: parse(r.master_key_json),
            selfSigningKey: parse(r.self_signing_key_json),
          });
        }
      }
    });
    return out;
  }

  /** The cached devices of the users: user ID -> devices. */
  async remoteDevices(userIds: readonly string[]): Promise<Map<string, RemoteDevice[]>> {
    const out = new Map<string, RemoteDevice[]>();
    if (userIds.length === 0) return out;
    await this.#db.read("get_remote_devices", async (trx) => {
      for (const chunk of chunks(userIds)) {
        const rows = await trx.selectFrom("e2e_remote_devices").selectAll().where("user_id", "in", chunk).orderBy("device_id").execute();
        for (const r of rows) {
          let list = out.get(r.user_id);
          if (list === undefined) out.set(r.user_id, (list = []));
          list.push({ deviceId: r.device_id, keys: parse(r.keys_json), displayName: r.display_name ?? undefined });
        }
      }
    });
    return out;
  }

  /** Replaces the user's cached list with a snapshot (GET /user/devices). */
  async replaceRemote(snapshot: RemoteDeviceListSnapshot): Promise<void> {
    await this.#db.write("replace_remote_device_list", async (trx) => {
      await trx.deleteFrom("e2e_remote_devices").where("user_id", "=", snapshot.userId).execute();
      await this.#putList(trx, snapshot);
      for (const chunk of chunks(snapshot.devices, 200)) {
        await trx
          .insertInto("e2e_remote_devices")
          .values(chunk.map((d) => ({ user_id: snapshot.userId, device_id: d.deviceId, keys_json: text(d.keys), display_name: d.displayName ?? null })))
          .execute();
      }
    });
  }

  /**
   * Applies one m.device_list_update to a cached list, if the list is still at `expectedStreamId`
   * (a resync or another update in between makes it a no-op): true when applied.
   */
  async applyRemoteUpdate(userId: string, expectedStreamId: number, streamId: number, device: RemoteDevice | { readonly deviceId: string; readonly deleted: true }): Promise<boolean> {
    return await this.#db.write("apply_remote_device_update", async (trx) => {
      const updated = await trx
        .updateTable("e2e_remote_device_lists")
        .set({ stream_id: streamId, updated_ts: this.#now() })
        .where("user_id", "=", userId)
        .where("stream_id", "=", expectedStreamId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await trx.deleteFrom("e2e_remote_devices").where("user_id", "=", userId).where("device_id", "=", device.deviceId).execute();
      if (!("deleted" in device)) {
        await trx
          .insertInto("e2e_remote_devices")
          .values({ user_id: userId, device_id: device.deviceId, keys_json: text(device.keys), display_name: device.displayName ?? null })
          .execute();
      }
      return true;
    });
  }

  /** Sets a cached user's master and self-signing keys (m.signing_key_update); false when not cached. */
  async setRemoteSigningKeys(userId: string, keys: { masterKey?: JsonObject; selfSigningKey?: JsonObject }): Promise<boolean> {
    const set: { master_key_json?: string; self_signing_key_json?: string; updated_ts: number } = { updated_ts: this.#now() };
    if (keys.masterKey !== undefined) set.master_key_json = JSON.stringify(keys.masterKey);
    if (keys.selfSigningKey !== undefined) set.self_signing_key_json = JSON.stringify(keys.selfSigningKey);
    const result = await this.#db.write("set_remote_signing_keys", (trx) => trx.updateTable("e2e_remote_device_lists").set(set).where("user_id", "=", userId).executeTakeFirst());
    return Number(result.numUpdatedRows) > 0;
  }

  /** Drops the users' cached lists (no update reaches us for them any more). */
  async forgetRemote(userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.#db.write("forget_remote_device_lists", async (trx) => {
      for (const chunk of chunks(userIds)) {
        await trx.deleteFrom("e2e_remote_devices").where("user_id", "in", chunk).execute();
        await trx.deleteFrom("e2e_remote_device_lists").where("user_id", "in", chunk).execute();
      }
    });
  }

  async #putList(trx: Trx, list: RemoteDeviceList): Promise<void> {
    const values = {
      stream_id: list.streamId,
      master_key_json: text(list.masterKey),
      self_signing_key_json: text(list.selfSigningKey),
      updated_ts: this.#now(),
    };
    await trx
      .insertInto("e2e_remote_device_lists")
      .values({ user_id: list.userId, ...values })
      .onConflict((oc) => oc.column("user_id").doUpdateSet(values))
      .execute();
  }
}
