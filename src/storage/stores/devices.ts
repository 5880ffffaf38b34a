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

  /** Deletes the device and every access token it holds; returns whether the device existed. */
  async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
    return await this.#db.write("delete_device", async (trx) => {
      await trx
        .deleteFrom("access_tokens")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .execute();
      const deleted = await trx
        .deleteFrom("devices")
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst();
      return deleted.numDeletedRows > 0n;
    });
  }
}
