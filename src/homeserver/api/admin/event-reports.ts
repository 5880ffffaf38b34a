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
import { directionParam, limitParam, pathParam } from "../client/event-params.ts";
import { queryParam } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

const BASE = "/_synapse/admin/v1/event_reports";
/** Synapse's default page size. */
const DEFAULT_LIMIT = 100;
/** The largest page served: a page is read and answered whole. */
const MAX_LIMIT = 1000;

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
      const limit = limitParam(req, DEFAULT_LIMIT, MAX_LIMIT);
      // A page of none would never move next_token on: refused rather than paged forever.
      if (limit === 0) throw new MatrixError("M_INVALID_PARAM", "limit must be a positive integer", 400);
      const query: EventReportQuery = {
        offset: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from"),
        limit,
        direction: directionParam(req, "b"),
        ...optional("reporterContains", queryParam(req, "user_id")),
        ...optional("roomIdContains", queryParam(req, "room_id")),
        ...optional("sender", queryParam(req, "sender_user_id")),
      };
      const { reports, total } = await store.eventReports(query);
      // Each room's name and alias read once for the page.
      const rooms = new Map<string | undefined, Promise<RoomFacts>>();
      const factsOf = (roomId: string | undefined): Promise<RoomFacts> => {
        let facts = rooms.get(roomId);
        if (facts === undefined) rooms.set(roomId, (facts = roomFacts(sources, roomId)));
        return facts;
      };
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
      const report = await store.eventReport(reportIdParam(pathParam(req, "reportId")));
      if (report === undefined) throw reportNotFound();
      // The event as stored (redacted if it was redacted since); null once the event is not stored here.
      const info = report.eventId === undefined ? undefined : await sources.getEvent(report.eventId);
      const facts = await roomFacts(sources, report.roomId);
      return { ...reportJson(report, facts), event_json: info === undefined ? null : { ...info.event.pdu, event_id: info.event.eventId } };
    },
  };

  const remove: Endpoint = {
    name: "admin.delete_event_report",
    method: "DELETE",
    paths: [`${BASE}/:reportId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      if (!(await store.deleteEventReport(reportIdParam(pathParam(req, "reportId"))))) throw reportNotFound();
      return {};
    },
  };

  return [list, get, remove];
}

/** The room's name and canonical alias now (null without, or when the room is not stored here). */
interface RoomFacts {
  readonly name: string | null;
  readonly canonicalAlias: string | null;
}

async function roomFacts(sources: EventReportSources, roomId: string | undefined): Promise<RoomFacts> {
  const state = roomId === undefined ? undefined : await sources.states.current(roomId);
  return {
    name: (await state?.stringField("m.room.name", "name")) ?? null,
    canonicalAlias: (await state?.stringField("m.room.canonical_alias", "alias")) ?? null,
  };
}

/** What Synapse's admin API says of a report. */
function reportJson(report: StoredReport, room: RoomFacts): JsonObject {
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

function reportIdParam(text: string): number {
  // Synapse's report IDs are positive integers; anything else names no report.
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) === 0) {
    throw new MatrixError("M_INVALID_PARAM", "The report ID must be a positive integer", 400);
  }
  return Number(text);
}

function reportNotFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Event report not found", 404);
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === "" ? {} : ({ [key]: value } as Record<K, string>);
}
