// Password authentication, shared by /login and the m.login.password UIA stage: which user an
// identifier names, and checking the password with the login rate limits (rc_login).
// client-server-api#identifier-types, #password-based, #rate-limiting
import { MatrixError } from "../../core/errors.ts";
import { canonicalEmail } from "../../core/identifiers/threepid.ts";
import { isJsonObject } from "../../core/json.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import type { User, UserStore } from "../../storage/stores/users.ts";
import { hashPassword, verifyPassword } from "./password.ts";

export interface PasswordLimits {
  /** rc_login.account: login attempts per account. */
  readonly account?: RateLimiter | undefined;
  /** rc_login.failed_attempts: failed attempts per account. */
  readonly failedAttempts?: RateLimiter | undefined;
  /** The local user an email address belongs to (its 3PIDs, users/threepid-service.ts), if any. */
  readonly userIdForEmail?: ((address: string) => Promise<string | undefined>) | undefined;
}

/** The parts of a /login body or a UIA auth dict that name the user. */
export interface UserIdentification {
  readonly identifier?: unknown;
  /** Deprecated top-level `user`. */
  readonly user?: unknown;
  /** Deprecated top-level 3PID fields. */
  readonly medium?: unknown;
  readonly address?: unknown;
}

function unknownThreepid(): MatrixError {
  return new MatrixError("M_FORBIDDEN", "No account has that third-party identifier", 403);
}

function limitExceeded(retryAfterMs: number): MatrixError {
  return new MatrixError("M_LIMIT_EXCEEDED", "Too many login attempts", 429, { retry_after_ms: retryAfterMs });
}

export class PasswordAuthenticator {
  readonly #users: UserStore;
  readonly #serverName: string;
  readonly #limits: PasswordLimits;
  #dummyHash: Promise<string> | undefined;

  constructor(users: UserStore, serverName: string, limits: PasswordLimits = {}) {
    this.#users = users;
    this.#serverName = serverName;
    this.#limits = limits;
  }

  /**
   * The fully qualified user ID a request claims, as given (client-server-api#matrix-user-id: the
   * full ID or just the localpart), or the account whose 3PID it names (client-server-api#third-party-id,
   * and the deprecated top-level `medium` and `address`). A 3PID no account has is refused with 403,
   * as is a phone number (no account has one: Weft validates none).
   */
  async claimedUserId(id: UserIdentification): Promise<string> {
    let user: unknown;
    if (id.identifier !== undefined) {
      if (!isJsonObject(id.identifier)) throw new MatrixError("M_BAD_JSON", "identifier must be an object", 400);
      const type = id.identifier["type"];
      if (type === "m.id.thirdparty") return this.#byThreepid(id.identifier["medium"], id.identifier["address"]);
      if (type === "m.id.phone") throw unknownThreepid();
      if (type !== "m.id.user") throw new MatrixError("M_UNKNOWN", "Unknown login identifier type", 400);
      user = id.identifier["user"];
      if (typeof user !== "string") throw new MatrixError("M_BAD_JSON", "identifier.user must be a string", 400);
    } else if (id.user !== undefined) {
      user = id.user;
      if (typeof user !== "string") throw new MatrixError("M_BAD_JSON", "user must be a string", 400);
    } else if (id.medium !== undefined || id.address !== undefined) {
      return this.#byThreepid(id.medium, id.address);
    } else {
      throw new MatrixError("M_MISSING_PARAM", "Missing parameter: identifier", 400);
    }
    return user.startsWith("@") ? user : `@${user}:${this.#serverName}`;
  }

  async #byThreepid(medium: unknown, address: unknown): Promise<string> {
    if (typeof medium !== "string" || typeof address !== "string") throw new MatrixError("M_BAD_JSON", "A third-party identifier needs medium and address strings", 400);
    const userId = medium === "email" ? await this.#limits.userIdForEmail?.(canonicalEmail(address)) : undefined;
    if (userId === undefined) throw unknownThreepid();
    return userId;
  }

  /**
   * The local account a claimed user ID names: the exact match, else the one account equal to it
   * but for case (Synapse lets `@Alice` log in as `@alice`), else none.
   */
  async resolveUserId(claimed: string): Promise<string | undefined> {
    if (!claimed.endsWith(`:${this.#serverName}`)) return undefined;
    const ids = await this.#users.findUserIdsCaseInsensitive(claimed);
    if (ids[0] === claimed || ids.length === 1) return ids[0];
    return undefined;
  }

  /**
   * Checks a password for a claimed user ID; returns the user, or undefined when the user or the
   * password is wrong (the two are not told apart, and take the same time). Each attempt counts
   * against rc_login.failed_attempts until one succeeds; `countAccount` also counts it against
   * rc_login.account (login requests; UIA stages are not logins).
   */
  async verify(claimed: string, password: string, options: { countAccount: boolean }): Promise<User | undefined> {
    const key = claimed.toLowerCase();
    if (options.countAccount) {
      const account = this.#limits.account?.take(key);
      if (account !== undefined && !account.allowed) throw limitExceeded(account.retryAfterMs);
    }
    // Taken before checking, given back on success: a failed attempt is counted even if the check throws.
    const failed = this.#limits.failedAttempts?.take(key);
    if (failed !== undefined && !failed.allowed) throw limitExceeded(failed.retryAfterMs);

    const userId = await this.resolveUserId(claimed);
    const user = userId === undefined ? undefined : await this.#users.getUser(userId);
    const stored = user?.passwordHash ?? null;
    // An unknown user costs a hash too, so that timing does not tell which accounts exist.
    const matches = await verifyPassword(password, stored ?? (await this.#dummy()));
    if (!matches || user === undefined || stored === null) return undefined;
    this.#limits.failedAttempts?.reset(key);
    return user;
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword("not a password anyone has");
    return this.#dummyHash;
  }
}
