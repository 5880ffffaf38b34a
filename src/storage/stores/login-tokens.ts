// Login tokens for `m.login.token` (client-server-api#login, POST /login/get_token): short-lived,
// single-use, stored by hash.
import type { Database } from "../database.ts";

export class LoginTokenStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** Stores a login token by its hash; also forgets the expired ones. */
  async create(tokenHash: string, userId: string, expiresTs: number): Promise<void> {
    await this.#db.write("create_login_token", async (trx) => {
      const now = this.#now();
      await trx.deleteFrom("login_tokens").where("expires_ts", "<=", now).execute();
      await trx.insertInto("login_tokens").values({ token_hash: tokenHash, user_id: userId, created_ts: now, expires_ts: expiresTs }).execute();
    });
  }

  /** Takes a login token: it is deleted whatever the outcome, so it can be used once only. */
  async consume(tokenHash: string): Promise<{ userId: string; expiresTs: number } | undefined> {
    const row = await this.#db.write("consume_login_token", (trx) =>
      trx.deleteFrom("login_tokens").where("token_hash", "=", tokenHash).returning(["user_id", "expires_ts"]).executeTakeFirst(),
    );
    return row === undefined ? undefined : { userId: row.user_id, expiresTs: row.expires_ts };
  }
}
