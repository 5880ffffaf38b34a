// Users: the accounts of this homeserver. client-server-api#account-registration-and-management
import type { Database } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";
import type { UsersTable } from "../schema.ts";
import type { Selectable } from "kysely";

/** Registration asked for a user ID that already has an account. */
export class UserExistsError extends Error {
  readonly userId: string;

  constructor(userId: string) {
    super(`user ${userId} already exists`);
    this.name = "UserExistsError";
    this.userId = userId;
  }
}

export interface User {
  userId: string;
  /** Null when the account cannot log in with a password. */
  passwordHash: string | null;
  admin: boolean;
  guest: boolean;
  deactivated: boolean;
  createdTs: number;
  displayname: string | null;
  avatarUrl: string | null;
}

export interface NewUser {
  admin?: boolean;
  guest?: boolean;
  displayname?: string | null;
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    userId: row.user_id,
    passwordHash: row.password_hash,
    admin: fromFlag(row.is_admin),
    guest: fromFlag(row.is_guest),
    deactivated: fromFlag(row.deactivated),
    createdTs: row.created_ts,
    displayname: row.displayname,
    avatarUrl: row.avatar_url,
  };
}

export class UserStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** Creates the account; throws UserExistsError when the user ID is taken. */
  async createUser(userId: string, passwordHash: string | null, options: NewUser = {}): Promise<User> {
    const row = await this.#db.write("create_user", (trx) =>
      trx
        .insertInto("users")
        .values({
          user_id: userId,
          password_hash: passwordHash,
          is_admin: toFlag(options.admin ?? false),
          is_guest: toFlag(options.guest ?? false),
          created_ts: this.#now(),
          displayname: options.displayname ?? null,
          avatar_url: null,
        })
        // No row back means the user ID was taken: no driver error to decode.
        .onConflict((oc) => oc.column("user_id").doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (row === undefined) throw new UserExistsError(userId);
    return toUser(row);
  }

  async getUser(userId: string): Promise<User | undefined> {
    const row = await this.#db.read("get_user", (trx) =>
      trx.selectFrom("users").selectAll().where("user_id", "=", userId).executeTakeFirst(),
    );
    return row === undefined ? undefined : toUser(row);
  }

  /**
   * The user IDs equal to `userId` but for case (login matches localparts case-insensitively, as
   * Synapse does); the exact match, when there is one, comes first.
   */
  async findUserIdsCaseInsensitive(userId: string): Promise<string[]> {
    const rows = await this.#db.read("find_user_ids_case_insensitive", (trx) =>
      trx
        .selectFrom("users")
        .select("user_id")
        .where((eb) => eb(eb.fn("lower", ["user_id"]), "=", userId.toLowerCase()))
        .execute(),
    );
    const ids = rows.map((r) => r.user_id);
    return [...ids.filter((id) => id === userId), ...ids.filter((id) => id !== userId)];
  }

  /** Replaces the password hash; returns false when there is no such user. */
  async setPasswordHash(userId: string, passwordHash: string | null): Promise<boolean> {
    const updated = await this.#db.write("set_password_hash", (trx) =>
      trx.updateTable("users").set({ password_hash: passwordHash }).where("user_id", "=", userId).executeTakeFirst(),
    );
    return updated.numUpdatedRows > 0n;
  }

  /** A guest account becomes a full one with this password; false when the user is no guest. */
  async upgradeGuest(userId: string, passwordHash: string): Promise<boolean> {
    const updated = await this.#db.write("upgrade_guest", (trx) =>
      trx.updateTable("users").set({ password_hash: passwordHash, is_guest: toFlag(false) }).where("user_id", "=", userId).where("is_guest", "=", toFlag(true)).executeTakeFirst(),
    );
    return updated.numUpdatedRows > 0n;
  }

  /**
   * Marks the account deactivated and forgets its password; with `erase`, also records the user as
   * erased. The row stays, so the user ID is never given out again.
   */
  async deactivate(userId: string, options: { erase: boolean }): Promise<void> {
    await this.#db.write("deactivate_user", async (trx) => {
      await trx.updateTable("users").set({ deactivated: toFlag(true), password_hash: null }).where("user_id", "=", userId).execute();
      if (options.erase) {
        await trx
          .insertInto("erased_users")
          .values({ user_id: userId, erased_ts: this.#now() })
          .onConflict((oc) => oc.column("user_id").doNothing())
          .execute();
      }
    });
  }

  /** Whether the user was deactivated with `erase: true`. */
  async isErased(userId: string): Promise<boolean> {
    const row = await this.#db.read("is_user_erased", (trx) =>
      trx.selectFrom("erased_users").select("user_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row !== undefined;
  }

  /** Whether the user ID has an account, deactivated ones included: user IDs are never reused. */
  async isUserIdTaken(userId: string): Promise<boolean> {
    const row = await this.#db.read("is_user_id_taken", (trx) =>
      trx.selectFrom("users").select("user_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row !== undefined;
  }
}
