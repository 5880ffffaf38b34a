// Pushers (migration 020): the pushers users set through POST /pushers/set (pusher.yaml), keyed
// by (user, app_id, pushkey). Written by the push service; read whole at start, since every event
// asks whether its room's members have one.
import type { Pusher } from "../../core/push/pusher.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Database, Trx } from "../database.ts";
import type { PushersTable } from "../schema.ts";

/** A pusher with whose it is and when its pushkey was set. */
export interface StoredPusher extends Pusher {
  readonly userId: string;
  /** The device whose session set it; undefined for a device-less access token. */
  readonly deviceId: string | undefined;
  /** push_notifier.yaml `pushkey_ts`, in milliseconds. */
  readonly pushkeyTs: number;
}

/** What identifies a pusher (pusher.yaml: "the pusher with this app_id and pushkey for this user"). */
export interface PusherKey {
  readonly userId: string;
  readonly appId: string;
  readonly pushkey: string;
}

function fromRow(row: PushersTable): StoredPusher {
  return {
    userId: row.user_id,
    kind: row.kind,
    appId: row.app_id,
    pushkey: row.pushkey,
    appDisplayName: row.app_display_name,
    deviceDisplayName: row.device_display_name,
    profileTag: row.profile_tag ?? undefined,
    lang: row.lang,
    data: JSON.parse(row.data) as JsonObject,
    deviceId: row.device_id ?? undefined,
    pushkeyTs: Number(row.pushkey_ts),
  };
}

function keyOf(row: Pick<PushersTable, "user_id" | "app_id" | "pushkey">): PusherKey {
  return { userId: row.user_id, appId: row.app_id, pushkey: row.pushkey };
}

export class PusherStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Every pusher of every user. */
  async all(): Promise<StoredPusher[]> {
    const rows = await this.#db.read("all_pushers", (trx) => trx.selectFrom("pushers").selectAll().orderBy("user_id").orderBy("app_id").orderBy("pushkey").execute());
    return rows.map(fromRow);
  }

  /** The user's pushers. */
  async ofUser(userId: string): Promise<StoredPusher[]> {
    const rows = await this.#db.read("user_pushers", (trx) =>
      trx.selectFrom("pushers").selectAll().where("user_id", "=", userId).orderBy("app_id").orderBy("pushkey").execute(),
    );
    return rows.map(fromRow);
  }

  /**
   * Creates or replaces the pusher, and with `removeOthers` deletes the other users' pushers with
   * the same app_id and pushkey (pusher.yaml `append: false`), in one transaction. Returns those
   * deleted.
   */
  async set(pusher: StoredPusher, removeOthers: boolean): Promise<PusherKey[]> {
    const row: PushersTable = {
      user_id: pusher.userId,
      app_id: pusher.appId,
      pushkey: pusher.pushkey,
      kind: pusher.kind,
      app_display_name: pusher.appDisplayName,
      device_display_name: pusher.deviceDisplayName,
      profile_tag: pusher.profileTag ?? null,
      lang: pusher.lang,
      data: JSON.stringify(pusher.data),
      device_id: pusher.deviceId ?? null,
      pushkey_ts: pusher.pushkeyTs,
    };
    return await this.#db.write("set_pusher", async (trx) => {
      let removed: PusherKey[] = [];
      if (removeOthers) {
        const others = trx.deleteFrom("pushers").where("app_id", "=", pusher.appId).where("pushkey", "=", pusher.pushkey).where("user_id", "<>", pusher.userId);
        removed = (await others.returning(["user_id", "app_id", "pushkey"]).execute()).map(keyOf);
      }
      const { user_id: _u, app_id: _a, pushkey: _p, ...changes } = row;
      await trx
        .insertInto("pushers")
        .values(row)
        .onConflict((oc) => oc.columns(["user_id", "app_id", "pushkey"]).doUpdateSet(changes))
        .execute();
      return removed;
    });
  }

  /** Deletes one pusher; whether it existed. */
  async delete(key: PusherKey): Promise<boolean> {
    const deleted = await this.#db.write("delete_pusher", (trx) =>
      trx.deleteFrom("pushers").where("user_id", "=", key.userId).where("app_id", "=", key.appId).where("pushkey", "=", key.pushkey).returning("user_id").execute(),
    );
    return deleted.length > 0;
  }

  /** Deletes the pushers the given devices of the user set; returns those deleted. */
  async deleteForDevices(userId: string, deviceIds: readonly string[]): Promise<PusherKey[]> {
    if (deviceIds.length === 0) return [];
    return await this.#db.write("delete_device_pushers", async (trx: Trx) =>
      (
        await trx
          .deleteFrom("pushers")
          .where("user_id", "=", userId)
          .where("device_id", "in", [...deviceIds])
          .returning(["user_id", "app_id", "pushkey"])
          .execute()
      ).map(keyOf),
    );
  }

  /** Deletes every pusher of the user; returns those deleted. */
  async deleteForUser(userId: string): Promise<PusherKey[]> {
    return await this.#db.write("delete_user_pushers", async (trx) =>
      (await trx.deleteFrom("pushers").where("user_id", "=", userId).returning(["user_id", "app_id", "pushkey"]).execute()).map(keyOf),
    );
  }
}
