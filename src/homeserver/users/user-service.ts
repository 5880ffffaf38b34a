import { MatrixError } from "../../core/errors.ts";
import { isValidLocalpart, userId as buildUserId } from "../../core/identifiers/index.ts";
import type { Connection, Requester } from "../../http/endpoint.ts";
import { UserExistsError, type User, type UserListQuery, type UserStore } from "../../storage/stores/users.ts";
import type { DeviceService } from "../devices/device-service.ts";
import { hashPassword } from "./password.ts";

export interface RegisteredUser {
  readonly userId: string;
  readonly deviceId: string | undefined;
  readonly accessToken: string | undefined;
  readonly refreshToken?: string | undefined;
  readonly expiresInMs?: number | undefined;
}

export interface RegisterOptions {
  readonly localpart: string;
  readonly password: string | undefined;
  readonly admin?: boolean;
  readonly guest?: boolean;
  readonly displayname?: string;
  /** Create no device and no access token (`inhibit_login`). */
  readonly inhibitLogin?: boolean;
  readonly deviceId?: string | undefined;
  readonly initialDeviceDisplayName?: string | undefined;
  /** The client supports refresh tokens (`refresh_token: true`). */
  readonly refreshable?: boolean | undefined;
}

/** Accounts: creating them, their passwords and flags, and the access tokens requests carry. */
export class UserService {
  constructor(
    private readonly serverName: string,
    private readonly users: UserStore,
    private readonly devices: DeviceService,
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
    return await this.#loggedIn(userId, options);
  }

  /**
   * modules/guest_access.md: the guest account becomes a full one with the password (and, unless
   * inhibited, a new device with an access token); its guest sessions stay, as a full user's.
   */
  async upgradeGuest(userId: string, password: string, options: Omit<RegisterOptions, "localpart" | "password" | "admin" | "guest" | "displayname">): Promise<RegisteredUser> {
    if (!(await this.users.upgradeGuest(userId, await hashPassword(password)))) throw new MatrixError("M_FORBIDDEN", "Only a guest account can be upgraded", 403);
    this.devices.userChanged(userId);
    return await this.#loggedIn(userId, options);
  }

  // The new account's first session, unless the registration inhibits login.
  async #loggedIn(userId: string, options: Pick<RegisterOptions, "inhibitLogin" | "deviceId" | "initialDeviceDisplayName" | "refreshable">): Promise<RegisteredUser> {
    if (options.inhibitLogin === true) return { userId, deviceId: undefined, accessToken: undefined };
    const session = await this.devices.createSession(userId, {
      deviceId: options.deviceId,
      initialDisplayName: options.initialDeviceDisplayName,
      refreshable: options.refreshable,
    });
    return { userId, ...session };
  }

  /** Resolves an access token to its requester (client-server-api#using-access-tokens). */
  authenticateAccessToken(token: string, connection?: Connection): Promise<Requester> {
    return this.devices.authenticate(token, connection);
  }

  getUser(userId: string): Promise<User | undefined> {
    return this.users.getUser(userId);
  }

  /** Whether the user ID was ever registered here (deactivated accounts keep theirs for ever). */
  isUserIdTaken(userId: string): Promise<boolean> {
    return this.users.isUserIdTaken(userId);
  }

  async isAdmin(userId: string): Promise<boolean> {
    return (await this.users.getUser(userId))?.admin === true;
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.users.setPasswordHash(userId, await hashPassword(password));
  }

  /** Makes the user a server admin or not (Synapse's admin API); false when there is no such user. */
  setAdmin(userId: string, admin: boolean): Promise<boolean> {
    return this.users.setAdmin(userId, admin);
  }

  /** A page of the accounts (Synapse's admin API), and how many match in all. */
  listUsers(query: UserListQuery): Promise<{ users: Array<User & { erased: boolean }>; total: number }> {
    return this.users.listUsers(query);
  }

  /** Lets a deactivated account log in again with this password (Synapse's admin API). */
  async reactivate(userId: string, password: string): Promise<void> {
    await this.users.reactivate(userId, await hashPassword(password));
    this.devices.userChanged(userId);
  }

  /** Whether the user was deactivated with `erase`. */
  isErased(userId: string): Promise<boolean> {
    return this.users.isErased(userId);
  }

  /** Marks the account deactivated (its password is forgotten); with `erase`, records the erasure. */
  deactivate(userId: string, options: { erase: boolean }): Promise<void> {
    return this.users.deactivate(userId, options);
  }
}
