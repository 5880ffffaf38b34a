// Reports of events at Synapse's admin API (/_synapse/admin/v1/event_reports), so that the
// moderation tools admins already use read what users reported (modules/report_content.md: "Servers
// are free to handle the reported content however they desire"): pages of reports, newest or oldest
// first, one report with the event reported, and deleting a report. Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { EventReportQuery, ReportStore, StoredReport } from "../../../storage/stores/reports.ts";
import type { RoomStateReader } from "../../rooms/room-state.ts";
import type { RoomEventInfo } from "../../roomserver/index.ts";
import { directionParam, limitParam } from "../client/event-params.ts";
import { adminPageLimit, optionalFilter } from "./admin-params.ts";
import { reportDeletion, reportIdParam, roomFactsReader, type ReportedRoomFacts } from "./report-admin.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

const BASE = "/_synapse/admin/v1/event_reports";

export interface EventReportSources {
  readonly store: ReportStore;
  readonly states: RoomStateReader;
  readonly getEvent: (eventId: string) => Promise<RoomEventInfo | undefined>;
  readonly isAdmin: IsAdmin;
}

export function eventReportAdminEndpoints(sources: EventReportSources): Endpoint[] {
  const { store, isAdmin } = sources;

  const list: Endpoint = {
    name: "admin.event_reports",
    method: "GET",
    paths: [BASE],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const query: EventReportQuery = {
        offset: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from"),
        limit: adminPageLimit(req),
        direction: directionParam(req, "b"),
        ...optionalFilter(req, "user_id", "reporterContains"),
        ...optionalFilter(req, "room_id", "roomIdContains"),
        ...optionalFilter(req, "sender_user_id", "sender"),
      };
      const { reports, total } = await store.eventReports(query);
      const factsOf = roomFactsReader(sources.states);
      const out: JsonObject = { event_reports: await Promise.all(reports.map(async (r) => reportJson(r, await factsOf(r.roomId)))), total };
      // The offset of the next page, when there is one.
      if (query.offset + reports.length < total) out["next_token"] = query.offset + reports.length;
      return out;
    },
  };

  const get: Endpoint = {
    name: "admin.event_report",
    method: "GET",
    paths: [`${BASE}/:reportId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const report = await store.report("event", reportIdParam(req));
      if (report === undefined) throw reportNotFound();
      // The event as stored (redacted if it was redacted since); null once the event is not stored here.
      const info = report.eventId === undefined ? undefined : await sources.getEvent(report.eventId);
      const facts = await roomFactsReader(sources.states)(report.roomId);
      return { ...reportJson(report, facts), event_json: info === undefined ? null : { ...info.event.pdu, event_id: info.event.eventId } };
    },
  };

  return [list, get, reportDeletion("event", BASE, store, isAdmin, reportNotFound)];
}

/** What Synapse's admin API says of a report. */
function reportJson(report: StoredReport, room: ReportedRoomFacts): JsonObject {
  return {
    id: report.id,
    received_ts: report.receivedTs,
    room_id: report.roomId ?? null,
    name: room.name,
    event_id: report.eventId ?? null,
    user_id: report.reporterUserId,
    reason: report.reason ?? null,
    // The spec's report has had no score since v1.18; Synapse keeps the field, null when not given.
    score: null,
    sender: report.targetUserId ?? null,
    canonical_alias: room.canonicalAlias,
  };
}

function reportNotFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Event report not found", 404);
}
