// What server admins may do to an account, reversibly (admin.yaml, v1.18): lock it
// (client-server-api#account-locking) or suspend it (#account-suspension).
// - Locked: every client-server request of its sessions but the logouts answers 401 M_USER_LOCKED
//   with soft_logout (the HTTP layer asks isRestricted); its access tokens stay valid for the unlock.
// - Suspended: it may still log in, read and leave, but the endpoints that act in rooms or change
//   its profile answer 403 M_USER_SUSPENDED (Endpoint.refusedWhileSuspended).
import { MatrixError } from "../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AccountRestriction, AccountRestrictionStore } from "../../storage/stores/account-restrictions.ts";
import type { User } from "../../storage/stores/users.ts";

export interface AccountRestrictionsDeps {
  readonly store: AccountRestrictionStore;
  readonly kind: AccountRestriction;
  readonly serverName: string;
  getUser(userId: string): Promise<User | undefined>;
  readonly now: () => number;
}

/** The verb of each kind, for the errors. */
const VERBS: Readonly<Record<AccountRestriction, string>> = { lock: "lock", suspension: "suspend" };

export class AccountRestrictions {
  readonly #deps: AccountRestrictionsDeps;
  /** Every restricted account, so that a request's check costs no read. */
  #restricted = new Set<string>();

  constructor(deps: AccountRestrictionsDeps) {
    this.#deps = deps;
  }

  /** Reads the restrictions in; call once before serving. */
  async load(): Promise<void> {
    this.#restricted = new Set(await this.#deps.store.restrictedUsers());
  }

  isRestricted(userId: string): boolean {
    return this.#restricted.has(userId);
  }

  /** GET /admin/{lock,suspend}/{userId}, for a server admin (the endpoint checks that first). */
  async get(requester: Requester, userId: string): Promise<boolean> {
    await this.#target(requester, userId);
    return this.#restricted.has(userId);
  }

  /** PUT /admin/{lock,suspend}/{userId}, for a server admin (the endpoint checks that first). */
  async set(requester: Requester, userId: string, restricted: boolean): Promise<boolean> {
    // admin.yaml: 403 for one "trying to lock [or suspend] their own account".
    if (userId === requester.userId) throw new MatrixError("M_FORBIDDEN", `You cannot ${VERBS[this.#deps.kind]} your own account`, 403);
    await this.#target(requester, userId);
    await this.#deps.store.setRestricted(userId, restricted, this.#deps.now());
    if (restricted) this.#restricted.add(userId);
    else this.#restricted.delete(userId);
    return restricted;
  }

  // The account the request is about: local, existing, and no other admin.
  async #target(requester: Requester, userId: string): Promise<void> {
    if (parseUserId(userId) === undefined || serverNameOf(userId) !== this.#deps.serverName) {
      throw new MatrixError("M_INVALID_PARAM", "User does not belong to the local server", 400);
    }
    const user = await this.#deps.getUser(userId);
    if (user === undefined || user.deactivated) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
    if (user.admin && userId !== requester.userId) throw new MatrixError("M_FORBIDDEN", "The user is another server administrator", 403);
  }
}
