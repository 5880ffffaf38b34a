// Synapse's admin API for redacting a user's events: POST /_synapse/admin/v1/user/{userId}/redact
// starts a job (events/user-redaction.ts says what it redacts and as whom) and answers its ID at
// once; GET /_synapse/admin/v1/user/redact_status/{redactId} tells how it went: scheduled, active,
// completed or failed, with the events that could not be redacted and why. Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import { parseRoomId, parseUserId } from "../../../core/identifiers/index.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { UserRedactions } from "../../events/user-redaction.ts";
import { pathParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

/** Synapse's default: the user's latest 1,000 events of each room are looked at. */
const DEFAULT_LIMIT = 1000;

export function userRedactionAdminEndpoints(redactions: UserRedactions, isAdmin: IsAdmin): Endpoint[] {
  const redact: Endpoint<JsonObject> = {
    name: "admin.redact_user",
    method: "POST",
    paths: ["/_synapse/admin/v1/user/:userId/redact"],
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["rooms"],
      properties: {
        rooms: { type: "array", items: { type: "string" } },
        reason: { type: "string" },
        limit: { type: "integer", minimum: 1 },
        use_admin: { type: "boolean" },
        after_ts: { type: "integer", minimum: 0 },
        before_ts: { type: "integer", minimum: 0 },
      },
    },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = pathParam(req, "userId");
      if (parseUserId(userId, { historical: true }) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a user ID", 400);
      const body = req.body;
      const rooms = body["rooms"] as string[];
      const notRoom = rooms.find((roomId) => parseRoomId(roomId) === undefined);
      if (notRoom !== undefined) throw new MatrixError("M_INVALID_PARAM", `Not a room ID: ${notRoom}`, 400);
      const redactId = await redactions.request(userId, requesterOf(req).userId, {
        rooms: [...new Set(rooms)],
        reason: body["reason"] as string | undefined,
        limit: (body["limit"] as number | undefined) ?? DEFAULT_LIMIT,
        useAdmin: body["use_admin"] === true,
        afterTs: body["after_ts"] as number | undefined,
        beforeTs: body["before_ts"] as number | undefined,
      });
      return { redact_id: redactId };
    },
  };

  const status: Endpoint = {
    name: "admin.redact_user_status",
    method: "GET",
    paths: ["/_synapse/admin/v1/user/redact_status/:redactId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const job = await redactions.status(pathParam(req, "redactId"));
      if (job === undefined) throw new MatrixError("M_NOT_FOUND", "No redaction job with this ID", 404);
      return { status: job.status, failed_redactions: { ...job.failed } };
    },
  };

  return [redact as Endpoint, status];
}
