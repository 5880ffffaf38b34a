// The identity service's storage: plain SQL over the project's Database (storage/database.ts), on
// the service's own tables (migrations/), written once for SQLite and PostgreSQL alike.
import type { Database, SqlValue } from "../storage/database.ts";

export interface SessionRow {
  readonly sid: string;
  readonly medium: string;
  readonly address: string;
  readonly client_secret: string;
  readonly token: string;
  readonly send_attempt: number;
  readonly next_link: string | null;
  readonly modified_ts: number;
  readonly validated_ts: number | null;
}

export interface AssociationRow {
  readonly medium: string;
  readonly address: string;
  readonly mxid: string;
  readonly ts: number;
  readonly not_before: number;
  readonly not_after: number;
}

export interface InviteRow {
  readonly token: string;
  readonly medium: string;
  readonly address: string;
  readonly room_id: string;
  readonly sender: string;
  readonly ephemeral_public_key: string;
  readonly created_ts: number;
  readonly queued_ts: number | null;
}

export interface QueuedOnbind {
  readonly id: number;
  readonly destination: string;
  readonly body: string;
  readonly attempts: number;
}

/** Lookups are asked in fixed-size batches, so that the database prepares one statement text. */
const LOOKUP_BATCH = 50;

export class IdentityStore {
  constructor(private readonly db: Database) {}

  /** The setting's value; `value` is stored first when it has none (the first start wins). */
  async settingOrCreate(name: string, value: string): Promise<string> {
    return await this.db.write("is_setting_or_create", async (trx) => {
      await this.db.query(trx, "INSERT INTO is_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [name, value]);
      const rows = await this.db.query<{ value: string }>(trx, "SELECT value FROM is_settings WHERE name = ?", [name]);
      return rows[0]?.value ?? value;
    });
  }

  async addAccessToken(tokenHash: string, userId: string, now: number): Promise<void> {
    await this.db.write("is_add_access_token", (trx) =>
      this.db.query(trx, "INSERT INTO is_access_tokens (token_hash, user_id, created_ts) VALUES (?, ?, ?)", [tokenHash, userId, now]),
    );
  }

  async userOfToken(tokenHash: string): Promise<string | undefined> {
    const rows = await this.db.readOnce<{ user_id: string }>("is_user_of_token", "SELECT user_id FROM is_access_tokens WHERE token_hash = ?", [tokenHash]);
    return rows[0]?.user_id;
  }

  async deleteAccessToken(tokenHash: string): Promise<void> {
    await this.db.write("is_delete_access_token", (trx) => this.db.query(trx, "DELETE FROM is_access_tokens WHERE token_hash = ?", [tokenHash]));
  }

  async acceptTerms(userId: string, urls: readonly string[]): Promise<void> {
    if (urls.length === 0) return;
    await this.db.write("is_accept_terms", (trx) =>
      this.db.queryEach(trx, "INSERT INTO is_accepted_terms (user_id, url) VALUES (?, ?) ON CONFLICT (user_id, url) DO NOTHING", urls.map((url) => [userId, url])),
    );
  }

  async acceptedTerms(userId: string): Promise<Set<string>> {
    const rows = await this.db.readOnce<{ url: string }>("is_accepted_terms", "SELECT url FROM is_accepted_terms WHERE user_id = ?", [userId]);
    return new Set(rows.map((r) => r.url));
  }

  async sessionBySid(sid: string): Promise<SessionRow | undefined> {
    const rows = await this.db.readOnce<SessionRow>("is_session_by_sid", "SELECT * FROM is_validation_sessions WHERE sid = ?", [sid]);
    return rows[0];
  }

  async sessionOf(medium: string, address: string, clientSecret: string): Promise<SessionRow | undefined> {
    const rows = await this.db.readOnce<SessionRow>(
      "is_session_of",
      "SELECT * FROM is_validation_sessions WHERE medium = ? AND address = ? AND client_secret = ?",
      [medium, address, clientSecret],
    );
    return rows[0];
  }

  /** Makes a session, replacing an expired one of the same 3PID and client secret. */
  async createSession(session: SessionRow): Promise<void> {
    await this.db.write("is_create_session", async (trx) => {
      await this.db.query(trx, "DELETE FROM is_validation_sessions WHERE medium = ? AND address = ? AND client_secret = ?", [
        session.medium,
        session.address,
        session.client_secret,
      ]);
      await this.db.query(
        trx,
        "INSERT INTO is_validation_sessions (sid, medium, address, client_secret, token, send_attempt, next_link, modified_ts, validated_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [session.sid, session.medium, session.address, session.client_secret, session.token, session.send_attempt, session.next_link, session.modified_ts, session.validated_ts],
      );
    });
  }

  async setSendAttempt(sid: string, sendAttempt: number, nextLink: string | null): Promise<void> {
    await this.db.write("is_set_send_attempt", (trx) =>
      this.db.query(trx, "UPDATE is_validation_sessions SET send_attempt = ?, next_link = ? WHERE sid = ?", [sendAttempt, nextLink, sid]),
    );
  }

  async deleteSession(sid: string): Promise<void> {
    await this.db.write("is_delete_session", (trx) => this.db.query(trx, "DELETE FROM is_validation_sessions WHERE sid = ?", [sid]));
  }

  /** Forgets the sessions not changed since `ts`; answers how many. */
  async deleteSessionsModifiedBefore(ts: number): Promise<number> {
    return await this.db.write("is_delete_old_sessions", async (trx) => {
      const rows = await this.db.query<{ sid: string }>(trx, "DELETE FROM is_validation_sessions WHERE modified_ts < ? RETURNING sid", [ts]);
      return rows.length;
    });
  }

  async markValidated(sid: string, now: number): Promise<void> {
    await this.db.write("is_mark_validated", (trx) =>
      this.db.query(trx, "UPDATE is_validation_sessions SET validated_ts = ?, modified_ts = ? WHERE sid = ?", [now, now, sid]),
    );
  }

  async association(medium: string, address: string): Promise<AssociationRow | undefined> {
    const rows = await this.db.readOnce<AssociationRow>(
      "is_association",
      "SELECT medium, address, mxid, ts, not_before, not_after FROM is_associations WHERE medium = ? AND address = ?",
      [medium, address],
    );
    return rows[0];
  }

  /**
   * Publishes the association (replacing the 3PID's previous one) and, in the same transaction,
   * queues the /3pid/onbind notification of the invitations waiting for the address, if any.
   */
  async bind(association: AssociationRow, lookupHash: string, onbind: (invites: InviteRow[]) => { destination: string; body: string } | undefined): Promise<void> {
    const { medium, address, mxid, ts, not_before, not_after } = association;
    await this.db.write("is_bind", async (trx) => {
      await this.db.query(
        trx,
        "INSERT INTO is_associations (medium, address, mxid, lookup_hash, ts, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (medium, address) DO UPDATE SET mxid = excluded.mxid, lookup_hash = excluded.lookup_hash, ts = excluded.ts, not_before = excluded.not_before, not_after = excluded.not_after",
        [medium, address, mxid, lookupHash, ts, not_before, not_after],
      );
      const invites = await this.db.query<InviteRow>(trx, "SELECT * FROM is_invites WHERE medium = ? AND address = ? AND queued_ts IS NULL ORDER BY created_ts", [medium, address]);
      const notification = invites.length === 0 ? undefined : onbind(invites);
      if (notification === undefined) return;
      await this.db.query(trx, "UPDATE is_invites SET queued_ts = ? WHERE medium = ? AND address = ? AND queued_ts IS NULL", [ts, medium, address]);
      await this.db.query(trx, "INSERT INTO is_onbind_queue (destination, body, attempts, next_attempt_ts, created_ts) VALUES (?, ?, 0, ?, ?)", [
        notification.destination,
        notification.body,
        ts,
        ts,
      ]);
    });
  }

  /** Removes the association if it is `mxid`'s; answers whether there was one to remove. */
  async unbind(medium: string, address: string, mxid: string): Promise<boolean> {
    return await this.db.write("is_unbind", async (trx) => {
      const rows = await this.db.query<{ mxid: string }>(trx, "DELETE FROM is_associations WHERE medium = ? AND address = ? AND mxid = ? RETURNING mxid", [medium, address, mxid]);
      return rows.length > 0;
    });
  }

  /** The Matrix user of each known lookup hash among `hashes`. */
  async lookupHashes(hashes: readonly string[]): Promise<Map<string, string>> {
    return await this.batchedLookup("is_lookup_hashes", "lookup_hash", hashes, (row) => row.lookup_hash);
  }

  /** The Matrix user of each known `<address> <medium>` pair (the `none` algorithm). */
  async lookupPlain(pairs: ReadonlyArray<{ readonly query: string; readonly medium: string; readonly address: string }>): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (pairs.length === 0) return found;
    await this.db.read("is_lookup_plain", async (trx) => {
      const rows = await this.db.queryEach<{ medium: string; address: string; mxid: string }>(
        trx,
        "SELECT medium, address, mxid FROM is_associations WHERE medium = ? AND address = ?",
        pairs.map((p) => [p.medium, p.address]),
      );
      const byPair = new Map(rows.map((r) => [`${r.address} ${r.medium}`, r.mxid]));
      for (const p of pairs) {
        const mxid = byPair.get(`${p.address} ${p.medium}`);
        if (mxid !== undefined) found.set(p.query, mxid);
      }
    });
    return found;
  }

  private async batchedLookup(name: string, column: string, keys: readonly string[], keyOf: (row: { lookup_hash: string }) => string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unique = [...new Set(keys)];
    if (unique.length === 0) return found;
    const placeholders = Array.from({ length: LOOKUP_BATCH }, () => "?").join(", ");
    const text = `SELECT ${column}, mxid FROM is_associations WHERE ${column} IN (${placeholders})`;
    await this.db.read(name, async (trx) => {
      for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
        const batch: SqlValue[] = unique.slice(i, i + LOOKUP_BATCH);
        // Padded with NULLs, which match nothing, so every batch is the one statement.
        while (batch.length < LOOKUP_BATCH) batch.push(null);
        const rows = await this.db.query<{ lookup_hash: string; mxid: string }>(trx, text, batch);
        for (const row of rows) found.set(keyOf(row), row.mxid);
      }
    });
    return found;
  }

  async addInvite(invite: InviteRow): Promise<void> {
    await this.db.write("is_add_invite", (trx) =>
      this.db.query(
        trx,
        "INSERT INTO is_invites (token, medium, address, room_id, sender, ephemeral_public_key, created_ts, queued_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [invite.token, invite.medium, invite.address, invite.room_id, invite.sender, invite.ephemeral_public_key, invite.created_ts, invite.queued_ts],
      ),
    );
  }

  async deleteInvite(token: string): Promise<void> {
    await this.db.write("is_delete_invite", (trx) => this.db.query(trx, "DELETE FROM is_invites WHERE token = ?", [token]));
  }

  async inviteByToken(token: string): Promise<InviteRow | undefined> {
    const rows = await this.db.readOnce<InviteRow>("is_invite_by_token", "SELECT * FROM is_invites WHERE token = ?", [token]);
    return rows[0];
  }

  async isEphemeralKey(publicKey: string): Promise<boolean> {
    const rows = await this.db.readOnce<{ token: string }>("is_ephemeral_key", "SELECT token FROM is_invites WHERE ephemeral_public_key = ?", [publicKey]);
    return rows.length > 0;
  }

  /** The queued notifications due by `now`, oldest first. */
  async dueOnbinds(now: number, limit: number): Promise<QueuedOnbind[]> {
    return await this.db.readOnce<QueuedOnbind>(
      "is_due_onbinds",
      "SELECT id, destination, body, attempts FROM is_onbind_queue WHERE next_attempt_ts <= ? ORDER BY next_attempt_ts, id LIMIT ?",
      [now, limit],
    );
  }

  async deleteOnbind(id: number): Promise<void> {
    await this.db.write("is_delete_onbind", (trx) => this.db.query(trx, "DELETE FROM is_onbind_queue WHERE id = ?", [id]));
  }

  async rescheduleOnbind(id: number, attempts: number, nextAttemptTs: number): Promise<void> {
    await this.db.write("is_reschedule_onbind", (trx) =>
      this.db.query(trx, "UPDATE is_onbind_queue SET attempts = ?, next_attempt_ts = ? WHERE id = ?", [attempts, nextAttemptTs, id]),
    );
  }
}
