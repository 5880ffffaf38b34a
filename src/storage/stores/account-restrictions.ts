// Accounts a server admin restricted, reversibly: locked (migration 013) or suspended (migration
// 014), each with the time it began. One table a kind, so that each is read and changed alone.
import type { Database } from "../database.ts";

/** client-server-api#account-locking and #account-suspension. */
export type AccountRestriction = "lock" | "suspension";

const TABLES = { lock: "account_locks", suspension: "account_suspensions" } as const;

export class AccountRestrictionStore {
  readonly #db: Database;
  readonly #kind: AccountRestriction;

  constructor(db: Database, kind: AccountRestriction) {
    this.#db = db;
    this.#kind = kind;
  }

  /** Every restricted account (they are few: the server keeps them all in memory). */
  async restrictedUsers(): Promise<string[]> {
    const table = TABLES[this.#kind];
    const rows = await this.#db.read(`get_account_${this.#kind}s`, (trx) => trx.selectFrom(table).select("user_id").execute());
    return rows.map((row) => row.user_id);
  }

  /** Restricts the account or lifts its restriction; restricting it again keeps the first time. */
  async setRestricted(userId: string, restricted: boolean, now: number): Promise<void> {
    await this.#db.write(`set_account_${this.#kind}`, async (trx) => {
      if (!restricted) await trx.deleteFrom(TABLES[this.#kind]).where("user_id", "=", userId).execute();
      else if (this.#kind === "lock") await trx.insertInto("account_locks").values({ user_id: userId, locked_ts: now }).onConflict((oc) => oc.column("user_id").doNothing()).execute();
      else await trx.insertInto("account_suspensions").values({ user_id: userId, suspended_ts: now }).onConflict((oc) => oc.column("user_id").doNothing()).execute();
    });
  }
}
