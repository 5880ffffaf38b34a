// Single sign-on: which account each identity provider's user is (migration 032).
import type { Database } from "../database.ts";

export class ExternalIdStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The account the provider's subject maps to, if any. */
  async userFor(authProvider: string, externalId: string): Promise<string | undefined> {
    const row = await this.#db.read("get_user_by_external_id", (trx) =>
      trx.selectFrom("user_external_ids").select("user_id").where("auth_provider", "=", authProvider).where("external_id", "=", externalId).executeTakeFirst(),
    );
    return row?.user_id;
  }

  /**
   * Maps the provider's subject to the account. False when it maps to an account already (another
   * login of the same subject won the race): the caller reads which.
   */
  async add(authProvider: string, externalId: string, userId: string, now: number): Promise<boolean> {
    const inserted = await this.#db.write("add_external_id", (trx) =>
      trx
        .insertInto("user_external_ids")
        .values({ auth_provider: authProvider, external_id: externalId, user_id: userId, added_ts: now })
        .onConflict((oc) => oc.columns(["auth_provider", "external_id"]).doNothing())
        .returning("user_id")
        .executeTakeFirst(),
    );
    return inserted !== undefined;
  }

  /**
   * The account's external IDs become exactly these (Synapse's admin API sets them); nothing changes
   * and the first one another account has is returned when one is another account's.
   */
  async setForUser(userId: string, ids: ReadonlyArray<{ authProvider: string; externalId: string }>, now: number): Promise<{ authProvider: string; externalId: string } | undefined> {
    return await this.#db.write("set_external_ids_of_user", async (trx) => {
      for (const id of ids) {
        const owner = await trx.selectFrom("user_external_ids").select("user_id").where("auth_provider", "=", id.authProvider).where("external_id", "=", id.externalId).executeTakeFirst();
        if (owner !== undefined && owner.user_id !== userId) return id;
      }
      await trx.deleteFrom("user_external_ids").where("user_id", "=", userId).execute();
      for (const id of ids) {
        await trx
          .insertInto("user_external_ids")
          .values({ auth_provider: id.authProvider, external_id: id.externalId, user_id: userId, added_ts: now })
          .onConflict((oc) => oc.columns(["auth_provider", "external_id"]).doNothing())
          .execute();
      }
      return undefined;
    });
  }

  /** The account's external IDs (Synapse's admin API lists them). */
  async forUser(userId: string): Promise<Array<{ authProvider: string; externalId: string }>> {
    const rows = await this.#db.read("get_external_ids_of_user", (trx) =>
      trx.selectFrom("user_external_ids").select(["auth_provider", "external_id"]).where("user_id", "=", userId).orderBy("auth_provider").orderBy("external_id").execute(),
    );
    return rows.map((r) => ({ authProvider: r.auth_provider, externalId: r.external_id }));
  }
}
