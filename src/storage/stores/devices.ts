// Devices and the access tokens they log in with.
// client-server-api#relationship-between-access-tokens-and-devices
import type { Selectable } from "kysely";
import type { Database } from "../database.ts";
import { fromFlag } from "../schema.ts";
import type { DevicesTable } from "../schema.ts";

/** The user already has a device with this ID. */
export class DeviceExistsError extends Error {
  readonly userId: string;
  readonly deviceId: string;

  constructor(userId: string, deviceId: string) {
    super(`user ${userId} already has a device ${deviceId}`);
    this.name = "DeviceExistsError";
    this.userId = userId;
    this.deviceId = deviceId;
  }
}

export interface Device {
  userId: string;
  deviceId: string;
  displayName: string | null;
  lastSeenTs: number | null;
  lastSeenIp: string | null;
  lastSeenUserAgent: string | null;
  createdTs: number;
}

export interface NewAccessToken {
  userId: string;
  deviceId: string | null;
  /** Null for a token that does not expire. */
  expiresTs?: number | null;
  refreshTokenId?: number | null;
}

/** An access token as authentication needs it: its owner, device, expiry, and the owner's state. */
export interface AccessToken {
  id: number;
  userId: string;
  deviceId: string | null;
  createdTs: number;
  expiresTs: number | null;
  refreshTokenId: number | null;
  userDeactivated: boolean;
  userIsGuest: boolean;
}

function toDevice(row: Selectable<DevicesTable>): Device {
  return {
    userId: row.user_id,
    deviceId: row.device_id,
    displayName: row.display_name,
    lastSeenTs: row.last_seen_ts,
    lastSeenIp: row.last_seen_ip,
    lastSeenUserAgent: row.last_seen_user_agent,
    createdTs: row.created_ts,
  };
}

export class DeviceStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** Creates a device of an existing user; throws DeviceExistsError when the ID is taken. */
  async createDevice(userId: string, deviceId: string, options: { displayName?: string | null } = {}): Promise<Device> {
    const row = await this.#db.write("create_device", (trx) =>
      trx
        .insertInto("devices")
        .values({
          user_id: userId,
          device_id: deviceId,
          display_name: options.displayName ?? null,
          last_seen_ts: null,
          last_seen_ip: null,
          last_seen_user_agent: null,
          created_ts: this.#now(),
        })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (row === undefined) throw new DeviceExistsError(userId, deviceId);
    return toDevice(row);
  }

  async getDevice(userId: string, deviceId: string): Promise<Device | undefined> {
    const row = await this.#db.read("get_device", (trx) =>
      trx
        .selectFrom("devices")
        .selectAll()
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : toDevice(row);
  }

  async getDevices(userId: string): Promise<Device[]> {
    const rows = await this.#db.read("get_devices", (trx) =>
      trx.selectFrom("devices").selectAll().where("user_id", "=", userId).orderBy("device_id").execute(),
    );
    return rows.map(toDevice);
  }

  /** Stores a token by its hash; returns the token's id. */
  async createAccessToken(tokenHash: string, token: NewAccessToken): Promise<number> {
    const row = await this.#db.write("create_access_token", (trx) =>
      trx
        .insertInto("access_tokens")
        .values({
          token_hash: tokenHash,
          user_id: token.userId,
          device_id: token.deviceId,
          created_ts: this.#now(),
          expires_ts: token.expiresTs ?? null,
          refresh_token_id: token.refreshTokenId ?? null,
        })
        .returning("id")
        .executeTakeFirstOrThrow(),
    );
    return row.id;
  }

  async getAccessToken(tokenHash: string): Promise<AccessToken | undefined> {
    const row = await this.#db.read("get_access_token", (trx) =>
      trx
        .selectFrom("access_tokens")
        .innerJoin("users", "users.user_id", "access_tokens.user_id")
        .select([
          "access_tokens.id",
          "access_tokens.user_id",
          "access_tokens.device_id",
          "access_tokens.created_ts",
          "access_tokens.expires_ts",
          "access_tokens.refresh_token_id",
          "users.deactivated",
          "users.is_guest",
        ])
        .where("access_tokens.token_hash", "=", tokenHash)
        .executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    return {
      id: row.id,
      userId: row.user_id,
      deviceId: row.device_id,
      createdTs: row.created_ts,
      expiresTs: row.expires_ts,
      refreshTokenId: row.refresh_token_id,
      userDeactivated: fromFlag(row.deactivated),
      userIsGuest: fromFlag(row.is_guest),
    };
  }

  /** Deletes the device and every access and refresh token it holds; returns whether the device existed. */
  async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
    const deleted = await this.deleteDevices(userId, [deviceId]);
    return deleted.length > 0;
  }

  /** Deletes the devices with their access and refresh tokens; returns the IDs of those that existed. */
  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    return await this.#db.write("delete_devices", async (trx) => {
      await trx.deleteFrom("access_tokens").where("user_id", "=", userId).where("device_id", "in", deviceIds).execute();
      await trx.deleteFrom("refresh_tokens").where("user_id", "=", userId).where("device_id", "in", deviceIds).execute();
      const rows = await trx
        .deleteFrom("devices")
        .where("user_id", "=", userId)
        .where("device_id", "in", deviceIds)
        .returning("device_id")
        .execute();
      return rows.map((r) => r.device_id);
    });
  }

  /**
   * Deletes every device of the user but `keepDeviceId` (every one when undefined), with their
   * tokens, and the user's tokens that belong to no device; returns the IDs of the deleted devices.
   */
  async deleteDevicesExcept(userId: string, keepDeviceId: string | undefined): Promise<string[]> {
    return await this.#db.write("delete_devices_except", async (trx) => {
      let tokens = trx.deleteFrom("access_tokens").where("user_id", "=", userId);
      let refresh = trx.deleteFrom("refresh_tokens").where("user_id", "=", userId);
      let devices = trx.deleteFrom("devices").where("user_id", "=", userId);
      if (keepDeviceId !== undefined) {
        tokens = tokens.where((eb) => eb.or([eb("device_id", "is", null), eb("device_id", "!=", keepDeviceId)]));
        refresh = refresh.where("device_id", "!=", keepDeviceId);
        devices = devices.where("device_id", "!=", keepDeviceId);
      }
      await tokens.execute();
      await refresh.execute();
      const rows = await devices.returning("device_id").execute();
      return rows.map((r) => r.device_id);
    });
  }

  /** Deletes one access token (a device-less one at logout); returns whether it existed. */
  async deleteAccessToken(id: number): Promise<boolean> {
    const deleted = await this.#db.write("delete_access_token", (trx) =>
      trx.deleteFrom("access_tokens").where("id", "=", id).executeTakeFirst(),
    );
    return deleted.numDeletedRows > 0n;
  }

  /** Sets a device's display name; returns false when the user has no such device. */
  async setDeviceDisplayName(userId: string, deviceId: string, displayName: string | null): Promise<boolean> {
    const updated = await this.#db.write("set_device_display_name", (trx) =>
      trx
        .updateTable("devices")
        .set({ display_name: displayName })
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst(),
    );
    return updated.numUpdatedRows > 0n;
  }

  /** Records when and from where devices were last seen, in one transaction for the whole batch. */
  async recordLastSeen(entries: readonly LastSeen[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#db.write("record_devices_last_seen", async (trx) => {
      for (const e of entries) {
        await trx
          .updateTable("devices")
          .set({ last_seen_ts: e.ts, last_seen_ip: e.ip, last_seen_user_agent: e.userAgent })
          .where("user_id", "=", e.userId)
          .where("device_id", "=", e.deviceId)
          .execute();
      }
    });
  }
}

/** When, from which address and with which client (its User-Agent, if sent) a device last made a request. */
export interface LastSeen {
  userId: string;
  deviceId: string;
  ip: string;
  userAgent: string | null;
  ts: number;
}
