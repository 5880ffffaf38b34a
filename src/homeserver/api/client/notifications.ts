// modules/push.md#listing-notifications: notifications.yaml, GET /notifications.
import { MatrixError } from "../../../core/errors.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { NotificationsService } from "../../push/notifications.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

function integerParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw new MatrixError("M_INVALID_PARAM", `'${name}' must be a non-negative integer`, 400);
  return parsed;
}

export function notificationsEndpoint(notifications: NotificationsService): Endpoint {
  return {
    name: "client.notifications",
    method: "GET",
    paths: clientPaths("/notifications"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const { userId } = nonGuestRequesterOf(req);
      // The `from` token is the stream position the previous page stopped at (notifications.ts).
      const from = integerParam(queryParam(req, "from"), "from");
      const limit = integerParam(queryParam(req, "limit"), "limit") ?? DEFAULT_LIMIT;
      if (limit < 1) throw new MatrixError("M_INVALID_PARAM", "'limit' must be at least 1", 400);
      return await notifications.list(userId, { from, limit: Math.min(limit, MAX_LIMIT), onlyHighlights: queryParam(req, "only") === "highlight" });
    },
  };
}
