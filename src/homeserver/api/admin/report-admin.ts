// What Synapse's admin APIs for reports (event-reports.ts, room-reports.ts) share: a report's ID in
// the path, the reported room's name, alias and topic as they are now, and deleting a report.
import { MatrixError } from "../../../core/errors.ts";
import type { Endpoint, MatrixRequest } from "../../../http/endpoint.ts";
import type { ReportStore, StoredReport } from "../../../storage/stores/reports.ts";
import type { RoomStateReader } from "../../rooms/room-state.ts";
import { pathParam } from "../client/event-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

/** The report named by the path's `reportId`. */
export function reportIdParam(req: MatrixRequest): number {
  const text = pathParam(req, "reportId");
  // Synapse's report IDs are positive integers; anything else names no report.
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) === 0) {
    throw new MatrixError("M_INVALID_PARAM", "The report ID must be a positive integer", 400);
  }
  return Number(text);
}

/** A reported room's name, canonical alias and topic now (null without, or when the room is not stored here). */
export interface ReportedRoomFacts {
  readonly name: string | null;
  readonly canonicalAlias: string | null;
  readonly topic: string | null;
}

/** Reads the facts of rooms, each room once however many reports of a page name it. */
export function roomFactsReader(states: RoomStateReader): (roomId: string | undefined) => Promise<ReportedRoomFacts> {
  const read = new Map<string | undefined, Promise<ReportedRoomFacts>>();
  return (roomId) => {
    let facts = read.get(roomId);
    if (facts === undefined) read.set(roomId, (facts = roomFacts(states, roomId)));
    return facts;
  };
}

async function roomFacts(states: RoomStateReader, roomId: string | undefined): Promise<ReportedRoomFacts> {
  const state = roomId === undefined ? undefined : await states.current(roomId);
  return {
    name: (await state?.stringField("m.room.name", "name")) ?? null,
    canonicalAlias: (await state?.stringField("m.room.canonical_alias", "alias")) ?? null,
    topic: (await state?.stringField("m.room.topic", "topic")) ?? null,
  };
}

/** DELETE {base}/{reportId}: deletes one report of the kind, {} once done; `notFound` when there is none. */
export function reportDeletion(kind: StoredReport["kind"], base: string, store: ReportStore, isAdmin: IsAdmin, notFound: () => MatrixError): Endpoint {
  return {
    name: `admin.delete_${kind}_report`,
    method: "DELETE",
    paths: [`${base}/:reportId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      if (!(await store.deleteReport(kind, reportIdParam(req)))) throw notFound();
      return {};
    },
  };
}
