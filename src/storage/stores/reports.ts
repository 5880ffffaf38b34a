// Reports of content (migration 017): what users reported to the server (modules/report_content.md),
// kept for its admins. Written by the report endpoints; read by admins, newest first.
import type { Database } from "../database.ts";

/** A report as it is made: what is reported, by whom and why. */
export type NewReport =
  | { readonly kind: "event"; readonly roomId: string; readonly eventId: string; readonly sender: string; readonly reason: string | undefined }
  | { readonly kind: "room"; readonly roomId: string; readonly reason: string }
  | { readonly kind: "user"; readonly userId: string; readonly reason: string };

/** A stored report, as an admin reads it. */
export interface StoredReport {
  readonly id: number;
  readonly kind: "event" | "room" | "user";
  readonly reporterUserId: string;
  readonly roomId: string | undefined;
  readonly eventId: string | undefined;
  /** The user reported (user reports), or the reported event's sender (event reports). */
  readonly targetUserId: string | undefined;
  readonly reason: string | undefined;
  readonly receivedTs: number;
}

export interface ReportQuery {
  /** Only reports with an id below this one (the previous page's last id). */
  readonly before?: number;
  readonly limit: number;
  readonly roomId?: string;
  readonly targetUserId?: string;
}

export class ReportStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a report; its id. */
  async add(reporterUserId: string, report: NewReport, receivedTs: number): Promise<number> {
    const row = {
      kind: report.kind,
      reporter_user_id: reporterUserId,
      room_id: report.kind === "user" ? null : report.roomId,
      event_id: report.kind === "event" ? report.eventId : null,
      target_user_id: report.kind === "event" ? report.sender : report.kind === "user" ? report.userId : null,
      reason: report.reason ?? null,
      received_ts: receivedTs,
    };
    const inserted = await this.#db.write("add_report", (trx) => trx.insertInto("reports").values(row).returning("id").executeTakeFirstOrThrow());
    return Number(inserted.id);
  }

  /** Reports, newest first, optionally about one room or one user. */
  async list(query: ReportQuery): Promise<StoredReport[]> {
    const rows = await this.#db.read("list_reports", (trx) => {
      let q = trx.selectFrom("reports").selectAll();
      if (query.before !== undefined) q = q.where("id", "<", query.before);
      if (query.roomId !== undefined) q = q.where("room_id", "=", query.roomId);
      if (query.targetUserId !== undefined) q = q.where("target_user_id", "=", query.targetUserId);
      return q.orderBy("id", "desc").limit(query.limit).execute();
    });
    return rows.map((row) => ({
      id: Number(row.id),
      kind: row.kind,
      reporterUserId: row.reporter_user_id,
      roomId: row.room_id ?? undefined,
      eventId: row.event_id ?? undefined,
      targetUserId: row.target_user_id ?? undefined,
      reason: row.reason ?? undefined,
      receivedTs: Number(row.received_ts),
    }));
  }
}
