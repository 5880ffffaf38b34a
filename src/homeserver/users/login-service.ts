// Login (client-server-api#legacy-login; login.yaml, login_token.yaml): m.login.password and
// m.login.token, and the short-lived single-use login tokens of POST /login/get_token.
import { accountLockedError, MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { LoginTokenStore } from "../../storage/stores/login-tokens.ts";
import type { User } from "../../storage/stores/users.ts";
import type { DeviceService, SessionTokens } from "../devices/device-service.ts";
import { newLoginToken, tokenHash } from "../devices/tokens.ts";
import type { PasswordAuthenticator } from "./password-auth.ts";
import type { UserInteractiveAuth } from "./uia.ts";
import type { UserService } from "./user-service.ts";

export interface LoginRequest {
  readonly type: string;
  readonly identifier?: unknown;
  readonly user?: unknown;
  readonly medium?: unknown;
  readonly address?: unknown;
  readonly password?: unknown;
  readonly token?: unknown;
  readonly device_id?: string;
  readonly initial_device_display_name?: string;
  readonly refresh_token?: boolean;
}

/**
 * application-service-api#server-admin-style-permissions: an `m.login.application_service` login
 * names a user of the service whose as_token the request carries. Throws 401 without a token or with
 * another, M_EXCLUSIVE outside the service's namespaces.
 */
export type AppserviceLoginCheck = (accessToken: string | undefined, userId: string) => void;

export interface LoginResult extends SessionTokens {
  readonly userId: string;
}

/** login_token.yaml: "120000 (2 minutes) is recommended as a default". */
export const LOGIN_TOKEN_LIFETIME_MS = 120_000;

export class LoginService {
  readonly #passwords: PasswordAuthenticator;
  readonly #users: UserService;
  readonly #devices: DeviceService;
  readonly #loginTokens: LoginTokenStore;
  readonly #uia: UserInteractiveAuth;
  readonly #isLocked: (userId: string) => boolean;
  readonly #isCrossSigningKeyId: (userId: string, deviceId: string) => Promise<boolean>;
  readonly #now: () => number;
  #identityProviders: readonly JsonObject[] = [];
  #appserviceLogin: AppserviceLoginCheck | undefined;

  constructor(
    passwords: PasswordAuthenticator,
    users: UserService,
    devices: DeviceService,
    loginTokens: LoginTokenStore,
    uia: UserInteractiveAuth,
    isLocked: (userId: string) => boolean = () => false,
    /** Whether `deviceId` is the public key (key ID) of one of the user's cross-signing keys. */
    isCrossSigningKeyId: (userId: string, deviceId: string) => Promise<boolean> = async () => false,
    now: () => number = Date.now,
  ) {
    this.#passwords = passwords;
    this.#users = users;
    this.#devices = devices;
    this.#loginTokens = loginTokens;
    this.#uia = uia;
    this.#isLocked = isLocked;
    this.#isCrossSigningKeyId = isCrossSigningKeyId;
    this.#now = now;
  }

  /** Login learns of the application services (built after the accounts), when there are any. */
  useAppservices(check: AppserviceLoginCheck): void {
    this.#appserviceLogin = check;
  }

  /** Login learns of the SSO identity providers (sso-service.ts), when there are any. */
  useSso(identityProviders: readonly JsonObject[]): void {
    this.#identityProviders = identityProviders;
  }

  /** GET /login: the login types offered. */
  flows(): JsonObject[] {
    const flows: JsonObject[] = [{ type: "m.login.password" }, { type: "m.login.token", get_login_token: true }];
    // sso_login_flow: identity_providers lets clients offer a button per provider.
    if (this.#identityProviders.length > 0) flows.push({ type: "m.login.sso", identity_providers: [...this.#identityProviders] });
    if (this.#appserviceLogin !== undefined) flows.push({ type: "m.login.application_service" });
    return flows;
  }

  /** A login token for one m.login.token login within two minutes (SSO hands it to the client). */
  async issueLoginToken(userId: string): Promise<string> {
    const loginToken = newLoginToken();
    await this.#loginTokens.create(tokenHash(loginToken), userId, this.#now() + LOGIN_TOKEN_LIFETIME_MS);
    return loginToken;
  }

  /** POST /login; `accessToken` is the one the request carries (an application service's). */
  async login(request: LoginRequest, accessToken?: string): Promise<LoginResult> {
    let user: User;
    switch (request.type) {
      case "m.login.application_service":
        user = await this.#byAppservice(request, accessToken);
        break;
      case "m.login.password":
        user = await this.#byPassword(request);
        break;
      case "m.login.token":
        user = await this.#byToken(request.token);
        break;
      default:
        throw new MatrixError("M_UNKNOWN", "Unknown login type", 400);
    }
    if (user.deactivated) throw new MatrixError("M_USER_DEACTIVATED", "This account has been deactivated", 403);
    // A locked account cannot open sessions either: login is not among the APIs it may call.
    if (this.#isLocked(user.userId)) throw accountLockedError();
    // login.yaml 403 M_FORBIDDEN "the requested device ID is the same as a cross-signing key ID"
    // (modules/end_to_end_encryption.md: servers MUST not allow devices to have such IDs).
    if (request.device_id !== undefined && (await this.#isCrossSigningKeyId(user.userId, request.device_id))) {
      throw new MatrixError("M_FORBIDDEN", "The device ID is the ID of a cross-signing key", 403);
    }
    const session = await this.#devices.createSession(user.userId, {
      deviceId: request.device_id,
      initialDisplayName: request.initial_device_display_name,
      refreshable: request.refresh_token === true,
    });
    return { userId: user.userId, ...session };
  }

  /**
   * POST /login/get_token: behind UIA every time (login_token.yaml: servers MUST always re-prompt),
   * a token for one m.login.token login within two minutes.
   */
  async createLoginToken(requester: Requester, body: JsonObject): Promise<{ loginToken: string; expiresInMs: number }> {
    await this.#uia.authenticate({
      endpoint: "POST /login/get_token",
      userId: requester.userId,
      body,
      flows: await this.#uia.reauthenticationFlows(requester.userId),
    });
    return { loginToken: await this.issueLoginToken(requester.userId), expiresInMs: LOGIN_TOKEN_LIFETIME_MS };
  }

  async #byPassword(request: LoginRequest): Promise<User> {
    if (request.password === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: password", 400);
    if (typeof request.password !== "string") throw new MatrixError("M_BAD_JSON", "password must be a string", 400);
    const claimed = await this.#passwords.claimedUserId(request);
    const user = await this.#passwords.verify(claimed, request.password, { countAccount: true });
    if (user === undefined) throw new MatrixError("M_FORBIDDEN", "Invalid username or password", 403);
    return user;
  }

  async #byAppservice(request: LoginRequest, accessToken: string | undefined): Promise<User> {
    if (this.#appserviceLogin === undefined) throw new MatrixError(accessToken === undefined ? "M_MISSING_TOKEN" : "M_UNKNOWN_TOKEN", "No application service has this token", 401);
    const claimed = await this.#passwords.claimedUserId(request);
    this.#appserviceLogin(accessToken, claimed);
    const user = await this.#users.getUser(claimed);
    if (user === undefined) throw new MatrixError("M_FORBIDDEN", "No such user", 403);
    return user;
  }

  /** client-server-api#legacy-login: an invalid token is 403 M_FORBIDDEN. */
  async #byToken(token: unknown): Promise<User> {
    if (token === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: token", 400);
    if (typeof token !== "string") throw new MatrixError("M_BAD_JSON", "token must be a string", 400);
    const found = await this.#loginTokens.consume(tokenHash(token));
    const user = found === undefined || found.expiresTs <= this.#now() ? undefined : await this.#users.getUser(found.userId);
    if (user === undefined) throw new MatrixError("M_FORBIDDEN", "Invalid login token", 403);
    return user;
  }
}
