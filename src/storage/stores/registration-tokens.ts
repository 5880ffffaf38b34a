// Registration tokens (client-server-api#token-authenticated-registration), counted as Synapse's
// admin API shows them: uses_allowed, pending (reserved by a UIA session), completed, expiry_time.
import type { Selectable } from "kysely";
import type { Database } from "../database.ts";
import type { RegistrationTokensTable } from "../schema.ts";

export interface RegistrationToken {
  token: string;
  /** Null: unlimited. */
  usesAllowed: number | null;
  pending: number;
  completed: number;
  /** Milliseconds since the epoch; null: never expires. */
  expiryTime: number | null;
}

export interface RegistrationTokenUpdate {
  usesAllowed?: number | null;
  expiryTime?: number | null;
}

/** A token with this value already exists. */
export class RegistrationTokenExistsError extends Error {
  constructor(token: string) {
    super(`registration token ${token} already exists`);
    this.name = "RegistrationTokenExistsError";
  }
}

function toToken(row: Selectable<RegistrationTokensTable>): RegistrationToken {
  return {
    token: row.token,
    usesAllowed: row.uses_allowed,
    pending: row.pending,
    completed: row.completed,
    expiryTime: row.expiry_time,
  };
}

/** Whether a token can still be used at `now`: not expired, and uses left once pending ones count. */
export function isRegistrationTokenValid(t: RegistrationToken, now: number): boolean {
  if (t.expiryTime !== null && t.expiryTime <= now) return false;
  return t.usesAllowed === null || t.pending + t.completed < t.usesAllowed;
}

export class RegistrationTokenStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Creates a token; throws RegistrationTokenExistsError when the value is taken. */
  async create(token: string, options: { usesAllowed: number | null; expiryTime: number | null }): Promise<RegistrationToken> {
    const row = await this.#db.write("create_registration_token", (trx) =>
      trx
        .insertInto("registration_tokens")
        .values({ token, uses_allowed: options.usesAllowed, expiry_time: options.expiryTime })
        .onConflict((oc) => oc.column("token").doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (row === undefined) throw new RegistrationTokenExistsError(token);
    return toToken(row);
  }

  async get(token: string): Promise<RegistrationToken | undefined> {
    const row = await this.#db.read("get_registration_token", (trx) =>
      trx.selectFrom("registration_tokens").selectAll().where("token", "=", token).executeTakeFirst(),
    );
    return row === undefined ? undefined : toToken(row);
  }

  async list(): Promise<RegistrationToken[]> {
    const rows = await this.#db.read("list_registration_tokens", (trx) =>
      trx.selectFrom("registration_tokens").selectAll().orderBy("token").execute(),
    );
    return rows.map(toToken);
  }

  /** Changes uses_allowed and/or expiry_time; undefined when there is no such token. */
  async update(token: string, update: RegistrationTokenUpdate): Promise<RegistrationToken | undefined> {
    const row = await this.#db.write("update_registration_token", async (trx) => {
      const values: { uses_allowed?: number | null; expiry_time?: number | null } = {};
      if (update.usesAllowed !== undefined) values.uses_allowed = update.usesAllowed;
      if (update.expiryTime !== undefined) values.expiry_time = update.expiryTime;
      if (Object.keys(values).length === 0) {
        return trx.selectFrom("registration_tokens").selectAll().where("token", "=", token).executeTakeFirst();
      }
      return trx.updateTable("registration_tokens").set(values).where("token", "=", token).returningAll().executeTakeFirst();
    });
    return row === undefined ? undefined : toToken(row);
  }

  async delete(token: string): Promise<boolean> {
    const deleted = await this.#db.write("delete_registration_token", (trx) =>
      trx.deleteFrom("registration_tokens").where("token", "=", token).executeTakeFirst(),
    );
    return deleted.numDeletedRows > 0n;
  }

  /**
   * Reserves one use of the token for a registration in progress (pending + 1), if it is valid at
   * `now`; check and increment happen in one transaction, so concurrent sessions cannot overspend it.
   */
  async reserve(token: string, now: number): Promise<boolean> {
    return await this.#db.write("reserve_registration_token", async (trx) => {
      const row = await trx.selectFrom("registration_tokens").selectAll().where("token", "=", token).executeTakeFirst();
      if (row === undefined || !isRegistrationTokenValid(toToken(row), now)) return false;
      await trx.updateTable("registration_tokens").set({ pending: row.pending + 1 }).where("token", "=", token).execute();
      return true;
    });
  }

  /** A reserved use became a registration: pending - 1, completed + 1. */
  async complete(token: string): Promise<void> {
    await this.#db.write("complete_registration_token", (trx) =>
      trx
        .updateTable("registration_tokens")
        .set((eb) => ({ pending: eb.case().when("pending", ">", 0).then(eb("pending", "-", 1)).else(0).end(), completed: eb("completed", "+", 1) }))
        .where("token", "=", token)
        .execute(),
    );
  }

  /** A reserved use was abandoned (the session expired or registration failed): pending - 1. */
  async release(token: string): Promise<void> {
    await this.#db.write("release_registration_token", (trx) =>
      trx
        .updateTable("registration_tokens")
        .set((eb) => ({ pending: eb("pending", "-", 1) }))
        .where("token", "=", token)
        .where("pending", ">", 0)
        .execute(),
    );
  }

  /**
   * Forgets every pending use. UIA sessions live in the homeserver's memory, so at start none that
   * reserved a use survives; their reservations must not keep the tokens' uses.
   */
  async clearPending(): Promise<void> {
    await this.#db.write("clear_registration_token_pending", (trx) =>
      trx.updateTable("registration_tokens").set({ pending: 0 }).where("pending", "!=", 0).execute(),
    );
  }
}
