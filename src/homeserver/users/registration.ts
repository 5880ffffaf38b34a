// Account registration (client-server-api#account-registration; registration.yaml): user accounts
// behind UIA, guest accounts, username availability and registration-token validity.
import { randomBytes, randomInt } from "node:crypto";
import { MatrixError } from "../../core/errors.ts";
import { userId as buildUserId } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { RegistrationTokenService } from "./registration-tokens.ts";
import type { UiaFlow, UserInteractiveAuth } from "./uia.ts";
import { DUMMY_STAGE, EMAIL_IDENTITY_STAGE, REGISTRATION_TOKEN_STAGE } from "./uia-stages.ts";
import type { RegisteredUser, UserService } from "./user-service.ts";

/** The registration settings of homeserver.yaml (Synapse's keys). */
export interface RegistrationPolicy {
  readonly enableRegistration: boolean;
  readonly enableRegistrationWithoutVerification: boolean;
  readonly registrationRequiresToken: boolean;
  readonly allowGuestAccess: boolean;
}

export interface RegisterRequest {
  readonly auth?: unknown;
  readonly username?: string;
  readonly password?: string;
  readonly device_id?: string;
  readonly initial_device_display_name?: string;
  readonly inhibit_login?: boolean;
  readonly refresh_token?: boolean;
  /** modules/guest_access.md: the access token of the guest account this registration upgrades. */
  readonly guest_access_token?: string;
  /** application-service-api#server-admin-style-permissions: `m.login.application_service`. */
  readonly type?: string;
}

/** What registration asks of the application services (application-service-api#server-admin-style-permissions). */
export interface AppserviceRegistrationRules {
  /** Whether an exclusive namespace (or a sender) claims the user: nobody else may register it. */
  isReservedUser(userId: string): boolean;
  /** Whether the service may register the user (in one of its namespaces). */
  isAppserviceUser(appserviceId: string, userId: string): boolean;
}

/** What registration asks of 3PIDs (users/threepid-service.ts and threepid-validation.ts). */
export interface RegistrationThreepids {
  /** Whether this server validates email addresses, so that the email stage can be offered. */
  readonly canValidateEmail: boolean;
  /** `registrations_require_3pid` names email. */
  readonly emailRequired: boolean;
  /** Throws M_THREEPID_DENIED or M_THREEPID_IN_USE when the address may not be registered with. */
  checkAvailable(medium: "email", address: string): Promise<void>;
  addValidated(userId: string, medium: "email", address: string, validatedAt: number): Promise<void>;
  /** The validation session, spent. */
  consume(sid: string): Promise<void>;
}

/** The login type of an application service's registration and login. */
export const APPSERVICE_LOGIN_TYPE = "m.login.application_service";

/** The most guesses at a free generated localpart before giving up (collisions are rare). */
const GENERATE_ATTEMPTS = 5;

export class RegistrationService {
  readonly #serverName: string;
  readonly #policy: RegistrationPolicy;
  readonly #users: UserService;
  readonly #uia: UserInteractiveAuth;
  readonly #tokens: RegistrationTokenService;
  readonly #threepids: RegistrationThreepids | undefined;
  #appservices: AppserviceRegistrationRules | undefined;

  constructor(serverName: string, policy: RegistrationPolicy, users: UserService, uia: UserInteractiveAuth, tokens: RegistrationTokenService, threepids?: RegistrationThreepids) {
    this.#threepids = threepids;
    this.#serverName = serverName;
    this.#policy = policy;
    this.#users = users;
    this.#uia = uia;
    this.#tokens = tokens;
  }

  /**
   * The UIA flows of /register: a validated email address when the server can validate one (only
   * that with registrations_require_3pid), or none (the dummy stage) when registration may go
   * without; each after a registration token when one is required. As Synapse offers them.
   */
  flows(): UiaFlow[] {
    const withToken = this.#policy.registrationRequiresToken;
    const tails: string[][] = [];
    if (this.#threepids?.canValidateEmail === true) tails.push([EMAIL_IDENTITY_STAGE]);
    if (this.#threepids?.emailRequired !== true && (withToken || this.#policy.enableRegistrationWithoutVerification)) tails.push([]);
    if (withToken) return tails.map((tail) => ({ stages: [REGISTRATION_TOKEN_STAGE, ...tail] }));
    return tails.map((tail) => ({ stages: tail.length === 0 ? [DUMMY_STAGE] : tail }));
  }

  /** Registration learns of the application services (built after the accounts). */
  useAppservices(rules: AppserviceRegistrationRules): void {
    this.#appservices = rules;
  }

  /** POST /register?kind=user|guest; `requester` is who the request's access token names, if any. */
  async register(kind: string | undefined, body: RegisterRequest & JsonObject, requester?: Requester): Promise<RegisteredUser> {
    if (body.type === APPSERVICE_LOGIN_TYPE) return this.#registerForAppservice(body, requester);
    if (kind === "guest") return this.#registerGuest(body);
    if (kind !== undefined && kind !== "user") throw new MatrixError("M_INVALID_PARAM", "kind must be user or guest", 400);
    this.#checkEnabled();
    const guest = body.guest_access_token === undefined ? undefined : await this.#upgradedGuest(body.guest_access_token, body.username);
    // registration.yaml: username checks come before UIA, so a taken name is reported at once.
    const localpart = body.username === undefined || guest !== undefined ? undefined : await this.#available(body.username);
    // client-server-api#user-interactive-authentication-api: a request without `auth` gets the 401
    // with the flows (clients discover them with `{}`); the password is asked for once auth comes.
    if (body.password === undefined && body.auth !== undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: password", 400);

    const flows = this.flows();
    if (flows.length === 0) throw new MatrixError("M_FORBIDDEN", "Registration is disabled", 403);
    const { registrationToken, threepid } = await this.#uia.authenticate({ endpoint: "POST /register", userId: undefined, body, flows });
    const session = {
      inhibitLogin: body.inhibit_login === true,
      deviceId: body.device_id,
      initialDeviceDisplayName: body.initial_device_display_name,
      refreshable: body.refresh_token === true,
    };
    let registeredUser: RegisteredUser;
    try {
      // The validated address becomes the account's (client-server-api#email-based-identity--homeserver).
      if (threepid !== undefined) await this.#threepids?.checkAvailable(threepid.medium, threepid.address);
      const registered =
        guest !== undefined
          ? await this.#users.upgradeGuest(guest, body.password ?? "", session)
          : await this.#withLocalpart(localpart, (lp) => this.#users.register({ localpart: lp, password: body.password, ...session }));
      if (registrationToken !== undefined) await this.#tokens.complete(registrationToken);
      registeredUser = registered;
    } catch (error) {
      if (registrationToken !== undefined) await this.#tokens.release(registrationToken);
      throw error;
    }
    if (threepid !== undefined && this.#threepids !== undefined) {
      await this.#threepids.addValidated(registeredUser.userId, threepid.medium, threepid.address, threepid.validatedAt);
      await this.#threepids.consume(threepid.sid);
    }
    return registeredUser;
  }

  /**
   * modules/guest_access.md: a guest upgrades "by going through the ordinary register flow" with
   * its access token, naming its own localpart as `username`. The guest's user ID.
   */
  async #upgradedGuest(accessToken: string, username: string | undefined): Promise<string> {
    const requester = await this.#users.authenticateAccessToken(accessToken);
    if (!requester.isGuest) throw new MatrixError("M_FORBIDDEN", "guest_access_token is not a guest's access token", 403);
    if (username === undefined || `@${username.toLowerCase()}:${this.#serverName}` !== requester.userId) {
      throw new MatrixError("M_INVALID_PARAM", "username must be the guest's own localpart", 400);
    }
    return requester.userId;
  }

  /** GET /register/available: throws M_INVALID_USERNAME or M_USER_IN_USE, as registration would. */
  async checkAvailable(username: string): Promise<void> {
    this.#checkEnabled();
    await this.#available(username);
  }

  /** Synapse's admin API username_available: as checkAvailable, registration enabled or not. */
  async checkAvailableForAdmin(username: string): Promise<void> {
    await this.#available(username);
  }

  /** GET /register/m.login.registration_token/validity. */
  async isTokenValid(token: string): Promise<boolean> {
    if (!this.#policy.enableRegistration) throw new MatrixError("M_FORBIDDEN", "Registration is not enabled on this homeserver", 403);
    return this.#tokens.isValid(token);
  }

  #checkEnabled(): void {
    if (!this.#policy.enableRegistration) throw new MatrixError("M_FORBIDDEN", "Registration is disabled", 403);
  }

  /**
   * The localpart for a requested username: lower-cased as Synapse does (the spec lets a server map
   * usernames onto the grammar), valid, not numeric (numeric localparts are for guests), and free.
   */
  async #available(username: string): Promise<string> {
    const localpart = username.toLowerCase();
    const userId = buildUserId(localpart, this.#serverName); // M_INVALID_USERNAME
    if (/^[0-9]+$/.test(localpart)) throw new MatrixError("M_INVALID_USERNAME", "Numeric user IDs are reserved for guest users", 400);
    // application-service-api#server-admin-style-permissions: users of an exclusive namespace are the service's alone.
    if (this.#appservices?.isReservedUser(userId) === true) throw new MatrixError("M_EXCLUSIVE", "This user ID is reserved by an application service", 400);
    if (await this.#users.isUserIdTaken(userId)) throw new MatrixError("M_USER_IN_USE", "User ID already taken", 400);
    return localpart;
  }

  /**
   * application-service-api#server-admin-style-permissions: an application service registers the
   * users of its namespaces with its as_token, without UIA or password, even with registration off.
   * Without a token 401 M_MISSING_TOKEN, with another 401 M_UNKNOWN_TOKEN, outside them M_EXCLUSIVE.
   */
  async #registerForAppservice(body: RegisterRequest, requester: Requester | undefined): Promise<RegisteredUser> {
    if (requester === undefined) throw new MatrixError("M_MISSING_TOKEN", "Missing application service token", 401);
    const appserviceId = requester.appservice?.id;
    if (appserviceId === undefined) throw new MatrixError("M_UNKNOWN_TOKEN", "The access token is not an application service's", 401, { soft_logout: false });
    if (body.username === undefined || body.username === "") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: username", 400);
    const userId = buildUserId(body.username, this.#serverName); // M_INVALID_USERNAME
    if (this.#appservices?.isAppserviceUser(appserviceId, userId) !== true) {
      throw new MatrixError("M_EXCLUSIVE", "The user is outside the application service's namespaces", 400);
    }
    return await this.#users.register({
      localpart: body.username,
      password: undefined,
      inhibitLogin: body.inhibit_login === true,
      deviceId: body.device_id,
      initialDeviceDisplayName: body.initial_device_display_name,
      refreshable: body.refresh_token === true,
    });
  }

  /** modules/guest_access.md: every parameter but initial_device_display_name is ignored. */
  async #registerGuest(body: RegisterRequest): Promise<RegisteredUser> {
    if (!this.#policy.allowGuestAccess) throw new MatrixError("M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled", 403);
    return this.#withLocalpart(undefined, (localpart) =>
      this.#users.register({
        localpart,
        password: undefined,
        guest: true,
        initialDeviceDisplayName: body.initial_device_display_name,
      }),
      true,
    );
  }

  /** Registers with the given localpart, or with generated ones until one is free. */
  async #withLocalpart(localpart: string | undefined, register: (localpart: string) => Promise<RegisteredUser>, guest = false): Promise<RegisteredUser> {
    if (localpart !== undefined) return register(localpart);
    for (let attempt = 1; ; attempt++) {
      try {
        return await register(guest ? String(randomInt(1e11, 1e12)) : generatedLocalpart());
      } catch (error) {
        if (!(error instanceof MatrixError && error.errcode === "M_USER_IN_USE") || attempt >= GENERATE_ATTEMPTS) throw error;
      }
    }
  }
}

/** A localpart for a user who gave no username: a letter and eleven of a-z 0-9. */
function generatedLocalpart(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = alphabet[randomInt(26)] as string;
  for (const b of randomBytes(11)) out += alphabet[b % 36];
  return out;
}
