// Locked accounts (migration 013): who a server admin locked, and since when.
import type { Database } from "../database.ts";

export class AccountLockStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Every locked account (locks are few: the server keeps them all in memory). */
  async lockedUsers(): Promise<string[]> {
    const rows = await this.#db.read("get_account_locks", (trx) => trx.selectFrom("account_locks").select("user_id").execute());
    return rows.map((row) => row.user_id);
  }

  /** Locks or unlocks the account; locking a locked one keeps its first lock time. */
  async setLocked(userId: string, locked: boolean, now: number): Promise<void> {
    await this.#db.write("set_account_lock", async (trx) => {
      if (locked) await trx.insertInto("account_locks").values({ user_id: userId, locked_ts: now }).onConflict((oc) => oc.column("user_id").doNothing()).execute();
      else await trx.deleteFrom("account_locks").where("user_id", "=", userId).execute();
    });
  }
}
