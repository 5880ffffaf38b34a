import { createHash, randomBytes } from "node:crypto";
import { MatrixError } from "../../core/errors.ts";
import { isValidLocalpart, userId as buildUserId } from "../../core/identifiers/index.ts";
import type { Requester } from "../../http/endpoint.ts";
import { DeviceExistsError, type DeviceStore, UserExistsError, type UserStore } from "../../storage/index.ts";
import { hashPassword } from "./password.ts";

/** An access token's stored form: its SHA-256, so a database leak does not leak live tokens. */
export function accessTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** 256 random bits, URL-safe (client-server-api#using-access-tokens: opaque strings). */
export function newAccessToken(): string {
  return `wft_${randomBytes(32).toString("base64url")}`;
}

/** Device IDs as Synapse makes them: ten upper-case letters. */
export function newDeviceId(): string {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const bytes = randomBytes(10);
  let id = "";
  for (const b of bytes) id += letters[b % 26];
  return id;
}

export interface RegisteredUser {
  readonly userId: string;
  readonly deviceId: string | undefined;
  readonly accessToken: string | undefined;
}

export interface RegisterOptions {
  readonly localpart: string;
  readonly password: string | undefined;
  readonly admin?: boolean;
  readonly guest?: boolean;
  readonly displayname?: string;
  /** Create no device and no access token (`inhibit_login`). */
  readonly inhibitLogin?: boolean;
  readonly deviceId?: string;
  readonly initialDeviceDisplayName?: string;
}

/** Accounts: registration and the access tokens requests authenticate with. */
export class UserService {
  constructor(
    private readonly serverName: string,
    private readonly users: UserStore,
    private readonly devices: DeviceStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates an account (and, unless inhibited, a device with an access token). */
  async register(options: RegisterOptions): Promise<RegisteredUser> {
    // client-server-api#post_matrixclientv3register: M_INVALID_USERNAME, M_USER_IN_USE.
    if (!isValidLocalpart(options.localpart)) {
      throw new MatrixError("M_INVALID_USERNAME", "User ID may only contain a-z, 0-9, '.', '_', '=', '-', '/' and '+'", 400);
    }
    const userId = buildUserId(options.localpart, this.serverName);
    const passwordHash = options.password === undefined ? null : await hashPassword(options.password);
    try {
      await this.users.createUser(userId, passwordHash, {
        admin: options.admin ?? false,
        guest: options.guest ?? false,
        displayname: options.displayname ?? options.localpart,
      });
    } catch (error) {
      if (error instanceof UserExistsError) throw new MatrixError("M_USER_IN_USE", "User ID already taken", 400);
      throw error;
    }
    if (options.inhibitLogin === true) return { userId, deviceId: undefined, accessToken: undefined };
    const { deviceId, accessToken } = await this.login(userId, options.deviceId, options.initialDeviceDisplayName);
    return { userId, deviceId, accessToken };
  }

  /** Creates (or reuses) a device and issues a new access token for it. */
  async login(userId: string, deviceId: string | undefined, displayName: string | undefined) {
    const id = deviceId ?? newDeviceId();
    try {
      await this.devices.createDevice(userId, id, { displayName: displayName ?? null });
    } catch (error) {
      if (!(error instanceof DeviceExistsError)) throw error;
    }
    const accessToken = newAccessToken();
    await this.devices.createAccessToken(accessTokenHash(accessToken), { userId, deviceId: id });
    return { deviceId: id, accessToken };
  }

  /** Resolves an access token to its requester (client-server-api#using-access-tokens). */
  async authenticateAccessToken(token: string): Promise<Requester> {
    const found = await this.devices.getAccessToken(accessTokenHash(token));
    if (found === undefined || found.userDeactivated) {
      throw new MatrixError("M_UNKNOWN_TOKEN", "Unknown access token", 401, { soft_logout: false });
    }
    if (found.expiresTs !== null && found.expiresTs <= this.now()) {
      // client-server-api#soft-logout: an expired token is a soft logout.
      throw new MatrixError("M_UNKNOWN_TOKEN", "Access token has expired", 401, { soft_logout: true });
    }
    return { userId: found.userId, deviceId: found.deviceId ?? undefined, isGuest: found.userIsGuest, accessTokenId: found.id };
  }
}
