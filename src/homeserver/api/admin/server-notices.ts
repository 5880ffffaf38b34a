// Synapse's admin API for server notices: POST /_synapse/admin/v1/send_server_notice, and PUT
// .../send_server_notice/{txnId}, which sends a retried request once. The notice goes to the user's
// server notices room (rooms/server-notices.ts). Server admins only; 400 when server notices are
// not configured (`server_notices.system_mxid_localpart`), as Synapse answers.
import { MatrixError } from "../../../core/errors.ts";
import { rememberRecent } from "../../../core/recent-map.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { AnyEndpoint, Endpoint, MatrixRequest } from "../../../http/endpoint.ts";
import type { ServerNotices } from "../../rooms/server-notices.ts";
import { pathParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { localUserIdOf } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

/** How many transactions' answers are kept for retries (Synapse keeps them a while in memory too). */
const TRANSACTIONS_KEPT = 1000;

const SCHEMA = {
  type: "object",
  required: ["user_id", "content"],
  properties: {
    user_id: { type: "string" },
    content: { type: "object" },
    type: { type: "string", minLength: 1 },
    state_key: { type: "string" },
  },
};

export function serverNoticeAdminEndpoints(notices: ServerNotices | undefined, serverName: string, isAdmin: IsAdmin): AnyEndpoint[] {
  /** The answer of each (admin, transaction) sent: a retry gets it again. */
  const sent = new Map<string, Promise<JsonObject>>();

  const send = async (req: MatrixRequest<JsonObject>): Promise<JsonObject> => {
    await requireAdmin(req, isAdmin);
    if (notices === undefined) throw new MatrixError("M_UNKNOWN", "Server notices are not enabled on this server", 400);
    const body = req.body;
    const userId = localUserIdOf(body["user_id"] as string, serverName);
    const type = (body["type"] as string | undefined) ?? "m.room.message";
    const eventId = await notices.send(userId, type, body["content"] as JsonObject, body["state_key"] as string | undefined);
    return { event_id: eventId };
  };

  const post: Endpoint<JsonObject> = {
    name: "admin.send_server_notice",
    method: "POST",
    paths: ["/_synapse/admin/v1/send_server_notice"],
    resource: "client",
    auth: "accessToken",
    schema: SCHEMA,
    handler: send,
  };
  const put: Endpoint<JsonObject> = {
    name: "admin.send_server_notice_txn",
    method: "PUT",
    paths: ["/_synapse/admin/v1/send_server_notice/:txnId"],
    resource: "client",
    auth: "accessToken",
    schema: SCHEMA,
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const requester = requesterOf(req);
      const key = `${requester.userId}\u0000${requester.accessTokenId ?? ""}\u0000${pathParam(req, "txnId")}`;
      const earlier = sent.get(key);
      if (earlier !== undefined) return await earlier;
      const answer = send(req);
      rememberRecent(sent, key, answer, TRANSACTIONS_KEPT);
      // A request that failed may be tried again under the same transaction.
      answer.catch(() => sent.delete(key));
      return await answer;
    },
  };
  return [post, put];
}
