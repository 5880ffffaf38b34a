// Reports of content (migration 017): what users reported to the server (modules/report_content.md),
// kept for its admins. Written by the report endpoints; read by admins, newest first, and the
// reports of events and of rooms paged through and deleted by Synapse's admin API
// (/_synapse/admin/v1/event_reports and /room_reports).
import { sql, type Selectable } from "kysely";
import { containsText } from "../contains-text.ts";
import type { Database } from "../database.ts";
import type { ReportsTable } from "../schema.ts";

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

/** A page of the reports of events, as Synapse's admin API asks for it: by offset, either way. */
export interface EventReportQuery {
  /** How many of the matching reports come before the page (in its order). */
  readonly offset: number;
  readonly limit: number;
  /** "b": the newest first; "f": the oldest first. */
  readonly direction: "b" | "f";
  /** Only reports whose reporter's user ID contains this text. */
  readonly reporterContains?: string;
  /** Only reports whose room ID contains this text. */
  readonly roomIdContains?: string;
  /** Only reports of events sent by this user. */
  readonly sender?: string;
}

/** A page of the reports of rooms, as Synapse's admin API asks for it: the newest first, from a report on. */
export interface RoomReportQuery {
  /** Only reports with this id or a lower one (where the previous page said the next one starts). */
  readonly upTo?: number;
  readonly limit: number;
  /** Only reports made by this user. */
  readonly reporter?: string;
  /** Only reports of this room. */
  readonly roomId?: string;
}

function reportOf(row: Selectable<ReportsTable>): StoredReport {
  return {
    id: Number(row.id),
    kind: row.kind,
    reporterUserId: row.reporter_user_id,
    roomId: row.room_id ?? undefined,
    eventId: row.event_id ?? undefined,
    targetUserId: row.target_user_id ?? undefined,
    reason: row.reason ?? undefined,
    receivedTs: Number(row.received_ts),
  };
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
    return rows.map(reportOf);
  }

  /** A page of the reports of events, and how many match the query in all. */
  async eventReports(query: EventReportQuery): Promise<{ reports: StoredReport[]; total: number }> {
    return await this.#db.read("event_reports", async (trx) => {
      const matching = () => {
        let q = trx.selectFrom("reports").where("kind", "=", "event");
        if (query.reporterContains !== undefined) q = q.where(containsText(this.#db.engine, sql.ref("reporter_user_id"), query.reporterContains));
        if (query.roomIdContains !== undefined) q = q.where(containsText(this.#db.engine, sql.ref("room_id"), query.roomIdContains));
        if (query.sender !== undefined) q = q.where("target_user_id", "=", query.sender);
        return q;
      };
      const rows = await matching()
        .selectAll()
        .orderBy("id", query.direction === "b" ? "desc" : "asc")
        .limit(query.limit)
        .offset(query.offset)
        .execute();
      const counted = await matching().select((eb) => eb.fn.countAll<number | bigint | string>().as("total")).executeTakeFirstOrThrow();
      return { reports: rows.map(reportOf), total: Number(counted.total) };
    });
  }

  /**
   * A page of the reports of rooms, newest first; how many match the query in all (wherever the
   * page starts), and the id the next page starts at, when there is one.
   */
  async roomReports(query: RoomReportQuery): Promise<{ reports: StoredReport[]; total: number; nextId: number | undefined }> {
    return await this.#db.read("room_reports", async (trx) => {
      const matching = () => {
        let q = trx.selectFrom("reports").where("kind", "=", "room");
        if (query.reporter !== undefined) q = q.where("reporter_user_id", "=", query.reporter);
        if (query.roomId !== undefined) q = q.where("room_id", "=", query.roomId);
        return q;
      };
      let page = matching().selectAll();
      if (query.upTo !== undefined) page = page.where("id", "<=", query.upTo);
      // One row more than the page: the next page's first, if any.
      const rows = (await page.orderBy("id", "desc").limit(query.limit + 1).execute()).map(reportOf);
      const counted = await matching().select((eb) => eb.fn.countAll<number | bigint | string>().as("total")).executeTakeFirstOrThrow();
      return { reports: rows.slice(0, query.limit), total: Number(counted.total), nextId: rows[query.limit]?.id };
    });
  }

  /** One report of the kind, by its id. */
  async report(kind: StoredReport["kind"], id: number): Promise<StoredReport | undefined> {
    const row = await this.#db.read("report", (trx) => trx.selectFrom("reports").selectAll().where("id", "=", id).where("kind", "=", kind).executeTakeFirst());
    return row === undefined ? undefined : reportOf(row);
  }

  /** Deletes one report of the kind; whether there was one. */
  async deleteReport(kind: StoredReport["kind"], id: number): Promise<boolean> {
    const result = await this.#db.write("delete_report", (trx) => trx.deleteFrom("reports").where("id", "=", id).where("kind", "=", kind).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }
}
