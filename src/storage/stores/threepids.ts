// Third-party identifiers (migration 031): our users' 3PIDs, the homeserver's validation sessions,
// and which identity servers each 3PID was bound to.
import type { Database } from "../database.ts";
import { isUniqueViolation } from "../errors.ts";
import type { ThreepidValidationSessionsTable } from "../schema.ts";

export interface StoredThreepid {
  readonly userId: string;
  readonly medium: string;
  readonly address: string;
  readonly validatedAt: number;
  readonly addedAt: number;
}

export interface ThreepidBinding {
  readonly medium: string;
  readonly address: string;
  readonly idServer: string;
}

export type ValidationSession = Readonly<ThreepidValidationSessionsTable>;

export class ThreepidStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async threepidsOf(userId: string): Promise<StoredThreepid[]> {
    const rows = await this.#db.read("get_user_threepids", (trx) =>
      trx.selectFrom("user_threepids").selectAll().where("user_id", "=", userId).orderBy("added_at").orderBy("address").execute(),
    );
    return rows.map(toThreepid);
  }

  /** The user a 3PID belongs to, if any. */
  async userOf(medium: string, address: string): Promise<string | undefined> {
    const row = await this.#db.read("get_user_by_threepid", (trx) =>
      trx.selectFrom("user_threepids").select("user_id").where("medium", "=", medium).where("address", "=", address).executeTakeFirst(),
    );
    return row?.user_id;
  }

  /**
   * Adds a 3PID to an account: "added" (or already the user's: "already"), or "taken" when another
   * account has it, all in one transaction so that two accounts cannot both get it.
   */
  async add(threepid: StoredThreepid): Promise<"added" | "already" | "taken"> {
    try {
      return await this.#addOnce(threepid);
    } catch (err) {
      // Another account's add of the same 3PID committed between our read and our insert.
      if (isUniqueViolation(err)) return "taken";
      throw err;
    }
  }

  async #addOnce(threepid: StoredThreepid): Promise<"added" | "already" | "taken"> {
    return this.#db.write("add_user_threepid", async (trx) => {
      const owner = await trx.selectFrom("user_threepids").select("user_id").where("medium", "=", threepid.medium).where("address", "=", threepid.address).executeTakeFirst();
      if (owner !== undefined) return owner.user_id === threepid.userId ? "already" : "taken";
      await trx
        .insertInto("user_threepids")
        .values({ user_id: threepid.userId, medium: threepid.medium, address: threepid.address, validated_at: threepid.validatedAt, added_at: threepid.addedAt })
        .execute();
      return "added";
    });
  }

  /** Removes one of the user's 3PIDs; false when the user had no such 3PID. */
  async remove(userId: string, medium: string, address: string): Promise<boolean> {
    const result = await this.#db.write("remove_user_threepid", (trx) =>
      trx.deleteFrom("user_threepids").where("user_id", "=", userId).where("medium", "=", medium).where("address", "=", address).executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Sets the user's 3PIDs to exactly `threepids` (Synapse's admin API): the ones kept keep their
   * times. Throws nothing; answers the first 3PID another account has, and then changes nothing.
   */
  async replaceAll(userId: string, threepids: readonly StoredThreepid[]): Promise<{ medium: string; address: string } | undefined> {
    return this.#db.write("replace_user_threepids", async (trx) => {
      for (const t of threepids) {
        const owner = await trx.selectFrom("user_threepids").select("user_id").where("medium", "=", t.medium).where("address", "=", t.address).executeTakeFirst();
        if (owner !== undefined && owner.user_id !== userId) return { medium: t.medium, address: t.address };
      }
      const existing = await trx.selectFrom("user_threepids").select(["medium", "address"]).where("user_id", "=", userId).execute();
      const wanted = new Set(threepids.map((t) => `${t.medium}\u0000${t.address}`));
      for (const row of existing) {
        if (!wanted.has(`${row.medium}\u0000${row.address}`)) {
          await trx.deleteFrom("user_threepids").where("user_id", "=", userId).where("medium", "=", row.medium).where("address", "=", row.address).execute();
        }
      }
      const have = new Set(existing.map((row) => `${row.medium}\u0000${row.address}`));
      for (const t of threepids) {
        if (have.has(`${t.medium}\u0000${t.address}`)) continue;
        have.add(`${t.medium}\u0000${t.address}`);
        await trx.insertInto("user_threepids").values({ user_id: userId, medium: t.medium, address: t.address, validated_at: t.validatedAt, added_at: t.addedAt }).execute();
      }
      return undefined;
    });
  }

  async removeAll(userId: string): Promise<void> {
    await this.#db.write("remove_user_threepids", async (trx) => {
      await trx.deleteFrom("user_threepids").where("user_id", "=", userId).execute();
      await trx.deleteFrom("user_threepid_id_servers").where("user_id", "=", userId).execute();
    });
  }

  // Bindings at identity servers.

  async bindingsOf(userId: string): Promise<ThreepidBinding[]> {
    const rows = await this.#db.read("get_user_threepid_bindings", (trx) =>
      trx.selectFrom("user_threepid_id_servers").select(["medium", "address", "id_server"]).where("user_id", "=", userId).orderBy("medium").orderBy("address").orderBy("id_server").execute(),
    );
    return rows.map((row) => ({ medium: row.medium, address: row.address, idServer: row.id_server }));
  }

  async addBinding(userId: string, binding: ThreepidBinding): Promise<void> {
    await this.#db.write("add_user_threepid_binding", (trx) =>
      trx
        .insertInto("user_threepid_id_servers")
        .values({ user_id: userId, medium: binding.medium, address: binding.address, id_server: binding.idServer })
        .onConflict((oc) => oc.columns(["user_id", "medium", "address", "id_server"]).doNothing())
        .execute(),
    );
  }

  async removeBinding(userId: string, binding: ThreepidBinding): Promise<void> {
    await this.#db.write("remove_user_threepid_binding", (trx) =>
      trx
        .deleteFrom("user_threepid_id_servers")
        .where("user_id", "=", userId)
        .where("medium", "=", binding.medium)
        .where("address", "=", binding.address)
        .where("id_server", "=", binding.idServer)
        .execute(),
    );
  }

  // Validation sessions.

  async session(sessionId: string): Promise<ValidationSession | undefined> {
    return this.#db.read("get_threepid_validation_session", (trx) => trx.selectFrom("threepid_validation_sessions").selectAll().where("session_id", "=", sessionId).executeTakeFirst());
  }

  /** The unexpired session for an address and client secret, the newest if there are several. */
  async sessionFor(medium: string, address: string, clientSecret: string, now: number): Promise<ValidationSession | undefined> {
    return this.#db.read("find_threepid_validation_session", (trx) =>
      trx
        .selectFrom("threepid_validation_sessions")
        .selectAll()
        .where("medium", "=", medium)
        .where("address", "=", address)
        .where("client_secret", "=", clientSecret)
        .where("expires_ts", ">", now)
        .orderBy("created_ts", "desc")
        .executeTakeFirst(),
    );
  }

  async createSession(session: ValidationSession): Promise<void> {
    await this.#db.write("create_threepid_validation_session", (trx) => trx.insertInto("threepid_validation_sessions").values(session).execute());
  }

  /** A new token mailed for a higher send_attempt: the session lives on from now. */
  async resend(sessionId: string, update: { token: string; sendAttempt: number; nextLink: string | null; now: number; expiresTs: number }): Promise<void> {
    await this.#db.write("resend_threepid_validation_session", (trx) =>
      trx
        .updateTable("threepid_validation_sessions")
        .set({ token: update.token, send_attempt: update.sendAttempt, next_link: update.nextLink, last_send_attempt_ts: update.now, expires_ts: update.expiresTs })
        .where("session_id", "=", sessionId)
        .execute(),
    );
  }

  async markValidated(sessionId: string, now: number): Promise<void> {
    await this.#db.write("validate_threepid_validation_session", (trx) =>
      trx.updateTable("threepid_validation_sessions").set({ validated_at: now }).where("session_id", "=", sessionId).where("validated_at", "is", null).execute(),
    );
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.#db.write("delete_threepid_validation_session", (trx) => trx.deleteFrom("threepid_validation_sessions").where("session_id", "=", sessionId).execute());
  }

  async deleteExpiredSessions(now: number): Promise<void> {
    await this.#db.write("delete_expired_threepid_validation_sessions", (trx) => trx.deleteFrom("threepid_validation_sessions").where("expires_ts", "<=", now).execute());
  }
}

function toThreepid(row: { user_id: string; medium: string; address: string; validated_at: number; added_at: number }): StoredThreepid {
  return { userId: row.user_id, medium: row.medium, address: row.address, validatedAt: Number(row.validated_at), addedAt: Number(row.added_at) };
}
