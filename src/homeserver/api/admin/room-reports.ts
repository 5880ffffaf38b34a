// Reports of rooms (client-server-api POST /rooms/{roomId}/report) at Synapse's admin API
// (/_synapse/admin/v1/room_reports), beside the reports of events (event-reports.ts), so that
// moderation tools read them too: pages of reports, the newest first, each page saying where the
// next one starts (`next_batch`, a report ID); one report; deleting a report. Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { ReportStore, RoomReportQuery, StoredReport } from "../../../storage/stores/reports.ts";
import type { RoomStateReader } from "../../rooms/room-state.ts";
import { limitParam } from "../client/event-params.ts";
import { adminPageLimit, optionalFilter } from "./admin-params.ts";
import { reportDeletion, reportIdParam, roomFactsReader, type ReportedRoomFacts } from "./report-admin.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

const BASE = "/_synapse/admin/v1/room_reports";

export interface RoomReportSources {
  readonly store: ReportStore;
  readonly states: RoomStateReader;
  readonly isAdmin: IsAdmin;
}

export function roomReportAdminEndpoints(sources: RoomReportSources): Endpoint[] {
  const { store, isAdmin } = sources;

  const list: Endpoint = {
    name: "admin.room_reports",
    method: "GET",
    paths: [BASE],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const limit = adminPageLimit(req);
      // `from`: the report the page starts at (a previous page's next_batch); absent, the newest.
      const upTo = limitParam(req, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "from");
      const query: RoomReportQuery = {
        upTo,
        limit,
        ...optionalFilter(req, "user_id", "reporter"),
        ...optionalFilter(req, "room_id", "roomId"),
      };
      const { reports, total, nextId } = await store.roomReports(query);
      const factsOf = roomFactsReader(sources.states);
      const out: JsonObject = { room_reports: await Promise.all(reports.map(async (r) => reportJson(r, await factsOf(r.roomId)))), total };
      if (nextId !== undefined) out["next_batch"] = nextId;
      return out;
    },
  };

  const get: Endpoint = {
    name: "admin.room_report",
    method: "GET",
    paths: [`${BASE}/:reportId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const report = await store.report("room", reportIdParam(req));
      if (report === undefined) throw reportNotFound();
      return reportJson(report, await roomFactsReader(sources.states)(report.roomId));
    },
  };

  return [list, get, reportDeletion("room", BASE, store, isAdmin, reportNotFound)];
}

/** What Synapse's admin API says of a report of a room. */
function reportJson(report: StoredReport, room: ReportedRoomFacts): JsonObject {
  return {
    id: report.id,
    received_ts: report.receivedTs,
    room_id: report.roomId ?? null,
    user_id: report.reporterUserId,
    reason: report.reason ?? null,
    canonical_alias: room.canonicalAlias,
    name: room.name,
    topic: room.topic,
  };
}

function reportNotFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Room report not found", 404);
}
