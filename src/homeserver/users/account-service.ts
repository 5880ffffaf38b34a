// Account management (client-server-api#legacy-account-management; password_management.yaml,
// account_deactivation.yaml, whoami.yaml, administrative_contact.yaml).
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AccountDataService } from "../account-data/account-data-service.ts";
import type { DeviceService } from "../devices/device-service.ts";
import type { ProfileService } from "../profile/profile-service.ts";
import type { UserInteractiveAuth } from "./uia.ts";
import { PASSWORD_STAGE } from "./uia-stages.ts";
import type { UserService } from "./user-service.ts";

export interface ChangePasswordRequest {
  readonly new_password: string;
  readonly logout_devices?: boolean;
}

export interface DeactivateRequest {
  readonly erase?: boolean;
  readonly id_server?: string;
}

/** Called after an account was deactivated (the rooms work makes the user leave its rooms). */
export type DeactivatedListener = (userId: string, options: { erase: boolean }) => void | Promise<void>;

const PASSWORD_FLOWS = [{ stages: [PASSWORD_STAGE] }];

export class AccountService {
  readonly #users: UserService;
  readonly #devices: DeviceService;
  readonly #profiles: ProfileService;
  readonly #accountData: AccountDataService;
  readonly #uia: UserInteractiveAuth;
  readonly #deactivatedListeners: DeactivatedListener[] = [];
  readonly #onError: (error: unknown) => void;

  constructor(
    users: UserService,
    devices: DeviceService,
    profiles: ProfileService,
    accountData: AccountDataService,
    uia: UserInteractiveAuth,
    options: { onError?: (error: unknown) => void } = {},
  ) {
    this.#users = users;
    this.#devices = devices;
    this.#profiles = profiles;
    this.#accountData = accountData;
    this.#uia = uia;
    this.#onError = options.onError ?? (() => undefined);
  }

  onDeactivated(listener: DeactivatedListener): void {
    this.#deactivatedListeners.push(listener);
  }

  /** GET /account/whoami. */
  whoami(requester: Requester): JsonObject {
    const answer: JsonObject = { user_id: requester.userId, is_guest: requester.isGuest };
    if (requester.deviceId !== undefined) answer["device_id"] = requester.deviceId;
    return answer;
  }

  /**
   * POST /account/password, behind UIA with the current password. With `logout_devices` (the
   * default) every other device is logged out; the requesting one is kept, as the spec asks.
   */
  async changePassword(requester: Requester, body: ChangePasswordRequest & JsonObject): Promise<void> {
    await this.#uia.authenticate({ endpoint: "POST /account/password", userId: requester.userId, body, flows: PASSWORD_FLOWS });
    await this.setPassword(requester.userId, body.new_password, body.logout_devices !== false, requester.deviceId);
  }

  /** Sets the password; with `logoutDevices`, every device but `keepDeviceId` (if any) is logged out. */
  async setPassword(userId: string, password: string, logoutDevices: boolean, keepDeviceId?: string): Promise<void> {
    await this.#users.setPassword(userId, password);
    if (logoutDevices) await this.#devices.deleteDevicesExcept(userId, keepDeviceId);
  }

  /**
   * POST /account/deactivate, behind UIA: the account can never log in again and its user ID is
   * never given out again; its devices and tokens go; with `erase`, its profile and account data too.
   */
  async deactivate(requester: Requester, body: DeactivateRequest & JsonObject): Promise<{ idServerUnbindResult: "success" | "no-support" }> {
    await this.#uia.authenticate({ endpoint: "POST /account/deactivate", userId: requester.userId, body, flows: PASSWORD_FLOWS });
    return await this.deactivateAccount(requester.userId, body.erase === true);
  }

  /** Deactivates the account, as POST /account/deactivate does once its UIA passed (admins skip that). */
  async deactivateAccount(userId: string, erase: boolean): Promise<{ idServerUnbindResult: "success" | "no-support" }> {
    await this.#users.deactivate(userId, { erase });
    await this.#devices.logoutAll(userId);
    if (erase) {
      await this.#profiles.erase(userId);
      await this.#accountData.erase(userId);
    }
    for (const listener of this.#deactivatedListeners) {
      try {
        await listener(userId, { erase });
      } catch (error) {
        this.#onError(error);
      }
    }
    // account_deactivation.yaml: "success" when there are no identifiers to unbind (no 3PIDs yet).
    return { idServerUnbindResult: "success" };
  }

  /** GET /account/3pid: 3PIDs come with the identity work; none are bound yet. */
  async threepids(_requester: Requester): Promise<JsonObject[]> {
    return [];
  }
}
