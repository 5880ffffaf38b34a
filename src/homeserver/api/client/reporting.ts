// Reporting content (modules/report_content.md, client-server report_content.yaml):
// POST /rooms/{roomId}/report/{eventId}, POST /rooms/{roomId}/report (v1.13), POST /users/{userId}/report (v1.14).
import { clientPaths, type Endpoint, type JsonSchema } from "../../../http/endpoint.ts";
import type { ReportService } from "../../reporting/report-service.ts";
import { pathParam, roomIdParam } from "./event-params.ts";
import { nonGuestRequesterOf } from "./requester.ts";

// report_content.yaml reportEvent: `reason` is optional. `score` was removed in v1.18: still sent by
// older clients, it is let through and ignored, as any other unknown key.
const EVENT_REPORT_SCHEMA: JsonSchema = {
  type: "object",
  properties: { reason: { type: "string" } },
};

// report_content.yaml reportRoom and reportUser: `reason` is required ("May be blank").
const REASON_REQUIRED_SCHEMA: JsonSchema = {
  type: "object",
  properties: { reason: { type: "string" } },
  required: ["reason"],
};

interface ReportBody {
  readonly reason?: string;
}

export function reportingEndpoints(reports: ReportService): Endpoint[] {
  const event: Endpoint<ReportBody> = {
    name: "client.report_event",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/report/:eventId"),
    resource: "client",
    auth: "accessToken",
    schema: EVENT_REPORT_SCHEMA,
    handler: async (req) => {
      // modules/guest_access.md does not list the report endpoints among those guests may call.
      const requester = nonGuestRequesterOf(req);
      await reports.reportEvent(requester.userId, roomIdParam(req), pathParam(req, "eventId"), req.body.reason);
      return {};
    },
  };

  const room: Endpoint<ReportBody> = {
    name: "client.report_room",
    method: "POST",
    // Added in v1.13: no r0 path.
    paths: clientPaths("/rooms/:roomId/report", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: REASON_REQUIRED_SCHEMA,
    handler: async (req) => {
      const requester = nonGuestRequesterOf(req);
      await reports.reportRoom(requester.userId, roomIdParam(req), req.body.reason ?? "");
      return {};
    },
  };

  const user: Endpoint<ReportBody> = {
    name: "client.report_user",
    method: "POST",
    // Added in v1.14: no r0 path.
    paths: clientPaths("/users/:userId/report", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: REASON_REQUIRED_SCHEMA,
    handler: async (req) => {
      const requester = nonGuestRequesterOf(req);
      await reports.reportUser(requester.userId, pathParam(req, "userId"), req.body.reason ?? "");
      return {};
    },
  };

  return [event as Endpoint, room as Endpoint, user as Endpoint];
}
