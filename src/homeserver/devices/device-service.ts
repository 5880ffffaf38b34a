// Devices and their sessions (client-server-api#relationship-between-access-tokens-and-devices,
// #refreshing-access-tokens, #soft-logout, modules/device_management.md): issuing tokens, checking
// them on every request (cached: token-cache.ts), refreshing them, and deleting devices with their
// tokens, refused from the very next request.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Connection, Requester } from "../../http/endpoint.ts";
import type { Device, DeviceStore } from "../../storage/stores/devices.ts";
import type { SessionStore } from "../../storage/stores/sessions.ts";
import type { UserInteractiveAuth } from "../users/uia.ts";
import { LastSeenRecorder } from "./last-seen.ts";
import { AccessTokenCache } from "./token-cache.ts";
import { newAccessToken, newDeviceId, newRefreshToken, tokenHash } from "./tokens.ts";

export interface SessionTokens {
  readonly deviceId: string;
  readonly accessToken: string;
  /** Present when the client asked for refresh tokens. */
  readonly refreshToken?: string;
  /** The access token's lifetime, when it expires. */
  readonly expiresInMs?: number;
}

export interface NewSessionOptions {
  /** The client's own device ID; a new one is made up when absent. */
  readonly deviceId?: string | undefined;
  readonly initialDisplayName?: string | undefined;
  /** The client supports refresh tokens (`refresh_token: true`): its access token expires. */
  readonly refreshable?: boolean | undefined;
}

export interface DeviceServiceOptions {
  readonly now?: () => number;
  /** Lifetime of an access token issued with a refresh token (Synapse's default: 5 minutes). */
  readonly refreshableAccessTokenLifetimeMs?: number;
  /** How often last-seen sightings are written; 0 writes them only on flush(). Default 5 s. */
  readonly lastSeenFlushMs?: number;
  /** How many access tokens are cached. Default 10,000. */
  readonly tokenCacheSize?: number;
  readonly onError?: (error: unknown, what: string) => void;
}

/** Called after a device was created or renamed (a device-list change, for end-to-end encryption). */
export type DeviceChangedListener = (userId: string, deviceId: string) => void | Promise<void>;

/** Called after devices were deleted (their keys and to-device messages go with them). */
export type DevicesDeletedListener = (userId: string, deviceIds: readonly string[]) => void | Promise<void>;

const MAX_DEVICE_ID_LENGTH = 255;
/** Synapse's limit on device display names. */
export const MAX_DEVICE_DISPLAY_NAME_LENGTH = 100;

function unknownToken(softLogout: boolean, message = "Unknown access token"): MatrixError {
  return new MatrixError("M_UNKNOWN_TOKEN", message, 401, { soft_logout: softLogout });
}

export class DeviceService {
  readonly #devices: DeviceStore;
  readonly #sessions: SessionStore;
  readonly #uia: UserInteractiveAuth;
  readonly #now: () => number;
  readonly #refreshableLifetimeMs: number;
  readonly #cache: AccessTokenCache;
  readonly #lastSeen: LastSeenRecorder;
  readonly #onError: (error: unknown, what: string) => void;
  readonly #deletedListeners: DevicesDeletedListener[] = [];
  readonly #changedListeners: DeviceChangedListener[] = [];

  constructor(devices: DeviceStore, sessions: SessionStore, uia: UserInteractiveAuth, options: DeviceServiceOptions = {}) {
    this.#devices = devices;
    this.#sessions = sessions;
    this.#uia = uia;
    this.#now = options.now ?? Date.now;
    this.#refreshableLifetimeMs = options.refreshableAccessTokenLifetimeMs ?? 5 * 60_000;
    this.#cache = new AccessTokenCache(options.tokenCacheSize);
    this.#onError = options.onError ?? (() => undefined);
    this.#lastSeen = new LastSeenRecorder(devices, {
      flushIntervalMs: options.lastSeenFlushMs,
      onError: (error) => this.#onError(error, "recording devices' last-seen"),
    });
  }

  /** Listens for deleted devices. */
  onDevicesDeleted(listener: DevicesDeletedListener): void {
    this.#deletedListeners.push(listener);
  }

  /** Listens for devices created or renamed. */
  onDeviceChanged(listener: DeviceChangedListener): void {
    this.#changedListeners.push(listener);
  }

  /**
   * Logs a device in: a new access token (and refresh token when asked), on the given device or a
   * new one. Naming an existing device revokes its earlier tokens.
   */
  async createSession(userId: string, options: NewSessionOptions = {}): Promise<SessionTokens> {
    const deviceId = options.deviceId ?? newDeviceId();
    if (deviceId.length === 0 || deviceId.length > MAX_DEVICE_ID_LENGTH) {
      throw new MatrixError("M_INVALID_PARAM", `device_id must be 1 to ${MAX_DEVICE_ID_LENGTH} characters`, 400);
    }
    const accessToken = newAccessToken();
    const refreshToken = options.refreshable === true ? newRefreshToken() : undefined;
    const issued = await this.#sessions.issueSession({
      userId,
      deviceId,
      displayName: options.initialDisplayName ?? null,
      accessTokenHash: tokenHash(accessToken),
      accessExpiresTs: refreshToken === undefined ? null : this.#now() + this.#refreshableLifetimeMs,
      refreshTokenHash: refreshToken === undefined ? undefined : tokenHash(refreshToken),
    });
    if (!issued.deviceCreated) this.#cache.invalidateDevices(userId, [deviceId]);
    else await this.#notifyChanged(userId, deviceId);
    if (refreshToken === undefined) return { deviceId, accessToken };
    return { deviceId, accessToken, refreshToken, expiresInMs: this.#refreshableLifetimeMs };
  }

  /**
   * An access token on no device (Synapse's admin "login as a user"): it lists in no /devices, a
   * /logout ends it alone, and /logout/all and deactivation end it with the rest.
   */
  async createDevicelessToken(userId: string, expiresTs: number | undefined): Promise<string> {
    const accessToken = newAccessToken();
    await this.#devices.createAccessToken(tokenHash(accessToken), { userId, deviceId: null, expiresTs: expiresTs ?? null });
    return accessToken;
  }

  /**
   * Resolves an access token to its requester (client-server-api#using-access-tokens), recording
   * the device as seen over `connection` (unless there is no request, and so no address).
   */
  async authenticate(token: string, connection: Connection | undefined): Promise<Requester> {
    const hash = tokenHash(token);
    let entry = this.#cache.get(hash);
    if (entry === undefined) {
      const epoch = this.#cache.epoch;
      const found = await this.#devices.getAccessToken(hash);
      if (found === undefined || found.userDeactivated) throw unknownToken(false);
      if (found.refreshTokenId !== null) {
        // client-server-api#refreshing-access-tokens: using the new access token revokes the old refresh token.
        this.#cache.invalidateTokens(await this.#sessions.revokePredecessor(found.refreshTokenId));
      }
      entry = {
        requester: { userId: found.userId, deviceId: found.deviceId ?? undefined, isGuest: found.userIsGuest, accessTokenId: found.id },
        tokenId: found.id,
        expiresTs: found.expiresTs,
      };
      this.#cache.set(hash, entry, epoch);
    }
    const now = this.#now();
    // client-server-api#soft-logout: an expired token is a soft logout; the client may refresh it.
    if (entry.expiresTs !== null && entry.expiresTs <= now) throw unknownToken(true, "Access token has expired");
    const { userId, deviceId } = entry.requester;
    if (deviceId !== undefined && connection !== undefined) this.#lastSeen.record(userId, deviceId, connection, now);
    return entry.requester;
  }

  /** POST /refresh: a new access token and refresh token for the refresh token's device. */
  async refresh(refreshToken: string): Promise<Required<Omit<SessionTokens, "deviceId">>> {
    const accessToken = newAccessToken();
    const nextRefreshToken = newRefreshToken();
    const result = await this.#sessions.rotateRefreshToken(tokenHash(refreshToken), {
      refreshTokenHash: tokenHash(nextRefreshToken),
      accessTokenHash: tokenHash(accessToken),
      accessExpiresTs: this.#now() + this.#refreshableLifetimeMs,
    });
    if (result.kind === "unknown") throw unknownToken(false, "Unknown refresh token");
    if (result.kind === "expired") throw unknownToken(true, "Refresh token has expired");
    this.#cache.invalidateTokens(result.session.revokedAccessTokenIds);
    return { accessToken, refreshToken: nextRefreshToken, expiresInMs: this.#refreshableLifetimeMs };
  }

  /** POST /logout: the token's device is deleted with all its tokens (a device-less token alone goes). */
  async logout(requester: Requester): Promise<void> {
    if (requester.deviceId !== undefined) {
      await this.#deleteDevices(requester.userId, [requester.deviceId]);
    } else if (requester.accessTokenId !== undefined) {
      await this.#devices.deleteAccessToken(requester.accessTokenId);
      this.#cache.invalidateTokens([requester.accessTokenId]);
    }
  }

  /** POST /logout/all, and deactivation: every device and token of the user. */
  async logoutAll(userId: string): Promise<void> {
    await this.deleteDevicesExcept(userId, undefined);
  }

  /** The user's flags changed (a guest became a full user): requests read them afresh. */
  userChanged(userId: string): void {
    this.#cache.invalidateUser(userId);
  }

  /** Deletes every device of the user but `keepDeviceId`, with their tokens. */
  async deleteDevicesExcept(userId: string, keepDeviceId: string | undefined): Promise<void> {
    const deleted = await this.#devices.deleteDevicesExcept(userId, keepDeviceId);
    if (keepDeviceId === undefined) this.#cache.invalidateUser(userId);
    else this.#cache.invalidate((e) => e.requester.userId === userId && e.requester.deviceId !== keepDeviceId);
    this.#lastSeen.forget(userId, deleted);
    await this.#notifyDeleted(userId, deleted);
  }

  async listDevices(userId: string): Promise<Device[]> {
    return (await this.#devices.getDevices(userId)).map((d) => this.#withLastSeen(d));
  }

  async getDevice(userId: string, deviceId: string): Promise<Device> {
    const device = await this.#devices.getDevice(userId, deviceId);
    if (device === undefined) throw new MatrixError("M_NOT_FOUND", "No device with that ID", 404);
    return this.#withLastSeen(device);
  }

  /** PUT /devices/{deviceId}: only existing devices (creating them is for application services). */
  async updateDevice(userId: string, deviceId: string, update: { displayName?: string | undefined }): Promise<void> {
    if (update.displayName !== undefined && update.displayName.length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
      throw new MatrixError("M_INVALID_PARAM", `display_name may be at most ${MAX_DEVICE_DISPLAY_NAME_LENGTH} characters`, 400);
    }
    const found =
      update.displayName === undefined
        ? (await this.#devices.getDevice(userId, deviceId)) !== undefined
        : await this.#devices.setDeviceDisplayName(userId, deviceId, update.displayName);
    if (!found) throw new MatrixError("M_NOT_FOUND", "No device with that ID", 404);
    if (update.displayName !== undefined) await this.#notifyChanged(userId, deviceId);
  }

  /**
   * DELETE /devices/{deviceId} and POST /delete_devices: behind UIA with the user's password
   * (modules/device_management.md#security-considerations); devices already gone are no error.
   */
  async deleteDevicesWithAuth(requester: Requester, deviceIds: readonly string[], body: JsonObject, endpoint: string): Promise<void> {
    await this.#uia.authenticate({ endpoint, userId: requester.userId, body, flows: await this.#uia.reauthenticationFlows(requester.userId) });
    await this.#deleteDevices(requester.userId, deviceIds);
  }

  /** Deletes the devices with their tokens, without UIA: for server admins (Synapse's admin API). */
  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    await this.#deleteDevices(userId, deviceIds);
  }

  /** Writes the pending last-seen sightings now. */
  flush(): Promise<void> {
    return this.#lastSeen.flush();
  }

  /** Stops the last-seen timer and writes what is pending: call before closing the database. */
  close(): Promise<void> {
    return this.#lastSeen.close();
  }

  async #deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    const deleted = await this.#devices.deleteDevices(userId, [...new Set(deviceIds)]);
    // Refused from the next request on, even when the device was already gone from the database.
    this.#cache.invalidateDevices(userId, deviceIds);
    this.#lastSeen.forget(userId, deviceIds);
    await this.#notifyDeleted(userId, deleted);
  }

  async #notifyChanged(userId: string, deviceId: string): Promise<void> {
    for (const listener of this.#changedListeners) {
      try {
        await listener(userId, deviceId);
      } catch (error) {
        this.#onError(error, "a device-changed listener");
      }
    }
  }

  async #notifyDeleted(userId: string, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    for (const listener of this.#deletedListeners) {
      try {
        await listener(userId, deviceIds);
      } catch (error) {
        this.#onError(error, "a devices-deleted listener");
      }
    }
  }

  #withLastSeen(device: Device): Device {
    const seen = this.#lastSeen.pendingFor(device.userId, device.deviceId);
    return seen === undefined ? device : { ...device, lastSeenTs: seen.ts, lastSeenIp: seen.ip, lastSeenUserAgent: seen.userAgent };
  }
}
