// OpenID tokens (migration 011): by hash, with the user they name and when they expire.
import type { Database } from "../database.ts";

export class OpenidTokenStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a token by its hash; also forgets the ones expired by `now`. */
  async create(tokenHash: string, userId: string, expiresTs: number, now: number): Promise<void> {
    await this.#db.write("create_openid_token", async (trx) => {
      await trx.deleteFrom("openid_tokens").where("expires_ts", "<=", now).execute();
      await trx.insertInto("openid_tokens").values({ token_hash: tokenHash, user_id: userId, expires_ts: expiresTs }).execute();
    });
  }

  /** The user a token names, while it has not expired by `now`. */
  async userOf(tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.#db.read("get_openid_token", (db) =>
      db.selectFrom("openid_tokens").select("user_id").where("token_hash", "=", tokenHash).where("expires_ts", ">", now).executeTakeFirst(),
    );
    return row?.user_id;
  }
}
