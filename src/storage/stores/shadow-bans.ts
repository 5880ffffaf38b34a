// The users a server admin shadow-banned (migration 030).
import type { Database } from "../database.ts";

export class ShadowBanStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Every shadow-banned user (they are few: the server keeps them in memory). */
  async all(): Promise<Set<string>> {
    const rows = await this.#db.read("get_shadow_banned_users", (trx) => trx.selectFrom("shadow_banned_users").select("user_id").execute());
    return new Set(rows.map((row) => row.user_id));
  }

  async set(userId: string, banned: boolean, now: number): Promise<void> {
    await this.#db.write("set_shadow_banned_user", async (trx) => {
      if (!banned) await trx.deleteFrom("shadow_banned_users").where("user_id", "=", userId).execute();
      else await trx.insertInto("shadow_banned_users").values({ user_id: userId, banned_ts: now }).onConflict((oc) => oc.column("user_id").doNothing()).execute();
    });
  }
}
