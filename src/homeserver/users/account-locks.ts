// Account locking (client-server-api#account-locking, admin.yaml /v1/admin/lock/{userId}): a server
// admin locks an account, reversibly. While it is locked, every client-server request of its
// sessions but the logouts answers 401 M_USER_LOCKED with soft_logout (the HTTP layer asks
// isLocked); its access tokens stay valid for when it is unlocked.
import { MatrixError } from "../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AccountLockStore } from "../../storage/stores/account-locks.ts";
import type { User } from "../../storage/stores/users.ts";

export interface AccountLocksDeps {
  readonly store: AccountLockStore;
  readonly serverName: string;
  getUser(userId: string): Promise<User | undefined>;
  readonly now: () => number;
}

export class AccountLocks {
  readonly #deps: AccountLocksDeps;
  /** Every locked account, so that a request's check costs no read. */
  #locked = new Set<string>();

  constructor(deps: AccountLocksDeps) {
    this.#deps = deps;
  }

  /** Reads the locks in; call once before serving. */
  async load(): Promise<void> {
    this.#locked = new Set(await this.#deps.store.lockedUsers());
  }

  isLocked(userId: string): boolean {
    return this.#locked.has(userId);
  }

  /** GET /admin/lock/{userId}, for a server admin (the endpoint checks that first). */
  async get(requester: Requester, userId: string): Promise<{ locked: boolean }> {
    await this.#target(requester, userId);
    return { locked: this.#locked.has(userId) };
  }

  /** PUT /admin/lock/{userId}, for a server admin (the endpoint checks that first). */
  async set(requester: Requester, userId: string, locked: boolean): Promise<{ locked: boolean }> {
    // admin.yaml: 403 for one "trying to lock their own account".
    if (userId === requester.userId) throw new MatrixError("M_FORBIDDEN", "You cannot lock your own account", 403);
    await this.#target(requester, userId);
    await this.#deps.store.setLocked(userId, locked, this.#deps.now());
    if (locked) this.#locked.add(userId);
    else this.#locked.delete(userId);
    return { locked };
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
