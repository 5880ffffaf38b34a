// The admin API's jobs redacting a user's events (migration 025): written when asked for, their
// failures noted as they go, marked done at the end; the unfinished ones read at start to be run
// again, and the finished ones forgotten a day after they ended.
import type { Selectable } from "kysely";
import type { Database } from "../database.ts";
import type { AdminRedactionsTable } from "../schema.ts";

export type RedactionJobStatus = AdminRedactionsTable["status"];

/** What the admin asked for (the request body, checked). */
export interface RedactionRequest {
  /** The rooms to redact in; empty: every room the user has a membership in. */
  readonly rooms: readonly string[];
  readonly reason: string | undefined;
  /** How many of the user's latest events are looked at in each room. */
  readonly limit: number;
  /** Whether the admin sends every redaction, rather than the user's own account for a local user. */
  readonly useAdmin: boolean;
  readonly afterTs: number | undefined;
  readonly beforeTs: number | undefined;
}

export interface RedactionJob {
  readonly redactId: string;
  readonly userId: string;
  readonly adminUserId: string;
  readonly request: RedactionRequest;
  readonly status: RedactionJobStatus;
  /** Event ID to why it was not redacted. */
  readonly failed: Readonly<Record<string, string>>;
  readonly createdTs: number;
  readonly finishedTs: number | undefined;
}

function jobOf(row: Selectable<AdminRedactionsTable>): RedactionJob {
  const request = JSON.parse(row.request) as { rooms: string[]; reason?: string; limit: number; use_admin: boolean; after_ts?: number; before_ts?: number };
  return {
    redactId: row.redact_id,
    userId: row.user_id,
    adminUserId: row.admin_user_id,
    request: { rooms: request.rooms, reason: request.reason, limit: request.limit, useAdmin: request.use_admin, afterTs: request.after_ts, beforeTs: request.before_ts },
    status: row.status,
    failed: JSON.parse(row.failed) as Record<string, string>,
    createdTs: Number(row.created_ts),
    finishedTs: row.finished_ts === null ? undefined : Number(row.finished_ts),
  };
}

export class AdminRedactionStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a new job, scheduled. */
  async add(job: { redactId: string; userId: string; adminUserId: string; request: RedactionRequest; createdTs: number }): Promise<void> {
    const { request } = job;
    const stored = { rooms: request.rooms, reason: request.reason, limit: request.limit, use_admin: request.useAdmin, after_ts: request.afterTs, before_ts: request.beforeTs };
    await this.#db.write("add_admin_redaction", (trx) =>
      trx
        .insertInto("admin_redactions")
        .values({
          redact_id: job.redactId,
          user_id: job.userId,
          admin_user_id: job.adminUserId,
          request: JSON.stringify(stored),
          status: "scheduled",
          failed: "{}",
          created_ts: job.createdTs,
          finished_ts: null,
        })
        .execute(),
    );
  }

  async get(redactId: string): Promise<RedactionJob | undefined> {
    const row = await this.#db.read("get_admin_redaction", (trx) => trx.selectFrom("admin_redactions").selectAll().where("redact_id", "=", redactId).executeTakeFirst());
    return row === undefined ? undefined : jobOf(row);
  }

  /** The jobs not finished (scheduled, or cut short by a stop), oldest first. */
  async unfinished(): Promise<RedactionJob[]> {
    const rows = await this.#db.read("get_unfinished_admin_redactions", (trx) =>
      trx.selectFrom("admin_redactions").selectAll().where("status", "in", ["scheduled", "active"]).orderBy("created_ts").orderBy("redact_id").execute(),
    );
    return rows.map(jobOf);
  }

  /** Records how far the job got: its status and its failures so far; `finishedTs` once it ended. */
  async update(redactId: string, status: RedactionJobStatus, failed: Readonly<Record<string, string>>, finishedTs?: number): Promise<void> {
    await this.#db.write("update_admin_redaction", (trx) =>
      trx
        .updateTable("admin_redactions")
        .set({ status, failed: JSON.stringify(failed), finished_ts: finishedTs ?? null })
        .where("redact_id", "=", redactId)
        .execute(),
    );
  }

  /** Forgets the jobs that ended before `cutoffTs`. */
  async purgeFinishedBefore(cutoffTs: number): Promise<void> {
    await this.#db.write("purge_admin_redactions", (trx) => trx.deleteFrom("admin_redactions").where("finished_ts", "<", cutoffTs).execute());
  }
}
