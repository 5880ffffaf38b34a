// Users: the accounts of this homeserver. client-server-api#account-registration-and-management
import { sql, type Selectable } from "kysely";
import { containsText, userIdOrNameContains } from "../contains-text.ts";
import type { Database } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";
import type { UsersTable } from "../schema.ts";

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

/** The order of a page of users (Synapse's admin API `order_by`), each tied by the user ID. */
export type UserListOrder = "name" | "is_guest" | "admin" | "deactivated" | "displayname" | "avatar_url" | "creation_ts";

/** A page of the accounts, as Synapse's admin API lists them. */
export interface UserListQuery {
  readonly offset: number;
  readonly limit: number;
  /** Only user IDs containing this text. */
  readonly userIdContains?: string;
  /** Only users whose user ID or display name contains this text, whatever the case. */
  readonly nameContains?: string;
  readonly includeGuests: boolean;
  readonly includeDeactivated: boolean;
  /** Only admins (true) or only others (false). */
  readonly admins?: boolean;
  readonly orderBy: UserListOrder;
  readonly direction: "f" | "b";
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

  /** An admin's reactivation: the account may log in again, with this password; false when there is no such user. */
  async reactivate(userId: string, passwordHash: string): Promise<boolean> {
    return await this.#db.write("reactivate_user", async (trx) => {
      const updated = await trx.updateTable("users").set({ deactivated: toFlag(false), password_hash: passwordHash }).where("user_id", "=", userId).executeTakeFirst();
      // Its erasure is undone too: what it posts from now on is its own again.
      await trx.deleteFrom("erased_users").where("user_id", "=", userId).execute();
      return updated.numUpdatedRows > 0n;
    });
  }

  /** Whether the user was deactivated with `erase: true`. */
  async isErased(userId: string): Promise<boolean> {
    const row = await this.#db.read("is_user_erased", (trx) =>
      trx.selectFrom("erased_users").select("user_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row !== undefined;
  }

  /** Makes the user a server admin or not; false when there is no such user. */
  async setAdmin(userId: string, admin: boolean): Promise<boolean> {
    const updated = await this.#db.write("set_user_admin", (trx) => trx.updateTable("users").set({ is_admin: toFlag(admin) }).where("user_id", "=", userId).executeTakeFirst());
    return updated.numUpdatedRows > 0n;
  }

  /** A page of the accounts, each with whether it was erased, and how many match the query in all. */
  async listUsers(query: UserListQuery): Promise<{ users: Array<User & { erased: boolean }>; total: number }> {
    return await this.#db.read("list_users", async (trx) => {
      const matching = () => {
        let q = trx.selectFrom("users").leftJoin("erased_users", "erased_users.user_id", "users.user_id");
        if (!query.includeGuests) q = q.where("users.is_guest", "=", toFlag(false));
        if (!query.includeDeactivated) q = q.where("users.deactivated", "=", toFlag(false));
        if (query.admins !== undefined) q = q.where("users.is_admin", "=", toFlag(query.admins));
        const engine = this.#db.engine;
        if (query.userIdContains !== undefined) q = q.where(containsText(engine, sql.ref("users.user_id"), query.userIdContains));
        if (query.nameContains !== undefined) q = q.where(userIdOrNameContains(engine, query.nameContains));
        return q;
      };
      const direction = query.direction === "f" ? "asc" : "desc";
      const column = ORDER_COLUMNS[query.orderBy];
      const rows = await matching()
        .selectAll("users")
        .select("erased_users.user_id as erased_user_id")
        .orderBy(column, direction)
        .orderBy("users.user_id", direction)
        .limit(query.limit)
        .offset(query.offset)
        .execute();
      const counted = await matching().select((eb) => eb.fn.countAll<number | bigint | string>().as("total")).executeTakeFirstOrThrow();
      return { users: rows.map((row) => ({ ...toUser(row), erased: row.erased_user_id !== null })), total: Number(counted.total) };
    });
  }

  /** Whether the user ID has an account, deactivated ones included: user IDs are never reused. */
  async isUserIdTaken(userId: string): Promise<boolean> {
    const row = await this.#db.read("is_user_id_taken", (trx) =>
      trx.selectFrom("users").select("user_id").where("user_id", "=", userId).executeTakeFirst(),
    );
    return row !== undefined;
  }
}

const ORDER_COLUMNS = {
  name: "users.user_id",
  is_guest: "users.is_guest",
  admin: "users.is_admin",
  deactivated: "users.deactivated",
  displayname: "users.displayname",
  avatar_url: "users.avatar_url",
  creation_ts: "users.created_ts",
} as const satisfies Record<UserListOrder, string>;
