// Account management (client-server-api#legacy-account-management; password_management.yaml,
// account_deactivation.yaml, whoami.yaml, administrative_contact.yaml).
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AccountDataService } from "../account-data/account-data-service.ts";
import type { DeviceService } from "../devices/device-service.ts";
import type { ProfileService } from "../profile/profile-service.ts";
import type { UserInteractiveAuth } from "./uia.ts";
import type { ThreepidService } from "./threepid-service.ts";
import type { ThreepidValidation } from "./threepid-validation.ts";
import { EMAIL_IDENTITY_STAGE } from "./uia-stages.ts";
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

export class AccountService {
  readonly #users: UserService;
  readonly #devices: DeviceService;
  readonly #profiles: ProfileService;
  readonly #accountData: AccountDataService;
  readonly #uia: UserInteractiveAuth;
  readonly #deactivatedListeners: DeactivatedListener[] = [];
  readonly #onError: (error: unknown) => void;
  readonly #threepids: ThreepidService | undefined;
  readonly #validation: ThreepidValidation | undefined;

  constructor(
    users: UserService,
    devices: DeviceService,
    profiles: ProfileService,
    accountData: AccountDataService,
    uia: UserInteractiveAuth,
    options: { onError?: (error: unknown) => void; threepids?: ThreepidService; validation?: ThreepidValidation } = {},
  ) {
    this.#threepids = options.threepids;
    this.#validation = options.validation;
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
   * Without an access token it is the password reset (password_management.yaml "The homeserver
   * may change the flows available depending on whether a valid access token is provided"): the
   * account is the one of the email address validated in the m.login.email.identity stage, and
   * every one of its devices is logged out by default.
   */
  async changePassword(requester: Requester | undefined, body: ChangePasswordRequest & JsonObject): Promise<void> {
    if (requester === undefined) return this.#resetPassword(body);
    await this.#uia.authenticate({ endpoint: "POST /account/password", userId: requester.userId, body, flows: await this.#uia.reauthenticationFlows(requester.userId) });
    await this.setPassword(requester.userId, body.new_password, body.logout_devices !== false, requester.deviceId);
  }

  async #resetPassword(body: ChangePasswordRequest & JsonObject): Promise<void> {
    if (this.#threepids === undefined || this.#validation?.canValidateEmail !== true) {
      throw new MatrixError("M_MISSING_TOKEN", "Missing access token (this server resets no passwords by email)", 401);
    }
    const { threepid } = await this.#uia.authenticate({ endpoint: "POST /account/password", userId: undefined, body, flows: [{ stages: [EMAIL_IDENTITY_STAGE] }] });
    const userId = threepid === undefined ? undefined : await this.#threepids.userIdFor(threepid.medium, threepid.address);
    if (threepid === undefined || userId === undefined) throw new MatrixError("M_THREEPID_NOT_FOUND", "No account has this email address", 400);
    await this.setPassword(userId, body.new_password, body.logout_devices !== false);
    await this.#validation.consume(threepid.sid);
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
    await this.#uia.authenticate({ endpoint: "POST /account/deactivate", userId: requester.userId, body, flows: await this.#uia.reauthenticationFlows(requester.userId) });
    return await this.deactivateAccount(requester.userId, body.erase === true, body.id_server);
  }

  /**
   * Deactivates the account, as POST /account/deactivate does once its UIA passed (admins skip that):
   * its 3PIDs are unbound from identity servers first (an identity server that cannot be reached
   * stops the deactivation, with nothing changed, so that it can be tried again), then removed.
   */
  async deactivateAccount(userId: string, erase: boolean, idServer?: string): Promise<{ idServerUnbindResult: "success" | "no-support" }> {
    // account_deactivation.yaml: "This must be success if the homeserver has no identifiers to unbind".
    const idServerUnbindResult = this.#threepids === undefined ? "success" : await this.#threepids.deactivate(userId, idServer);
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
    return { idServerUnbindResult };
  }

  /** GET /account/3pid: the account's 3PIDs, as the homeserver holds them (not the identity servers' bindings). */
  async threepids(requester: Requester): Promise<JsonObject[]> {
    return this.#threepids === undefined ? [] : this.#threepids.list(requester.userId);
  }
}
