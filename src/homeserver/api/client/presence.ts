// GET and PUT /presence/{userId}/status (modules/presence.md, presence.yaml).
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { Presence } from "../../sync/presence.ts";
import type { PresenceStatus } from "../../sync/presence-status.ts";
import { requesterOf } from "./requester.ts";

interface PresenceBody {
  readonly presence: Presence;
  readonly status_msg?: string;
}

export function presenceEndpoints(status: PresenceStatus): Endpoint[] {
  const get: Endpoint = {
    name: "client.get_presence",
    method: "GET",
    paths: clientPaths("/presence/:userId/status"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => status.get(requesterOf(req).userId, req.params["userId"] ?? ""),
  };
  const put: Endpoint<PresenceBody> = {
    name: "client.set_presence",
    method: "PUT",
    paths: clientPaths("/presence/:userId/status"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: { presence: { enum: ["online", "offline", "unavailable"] }, status_msg: { type: "string" } },
      required: ["presence"],
    },
    handler: async (req) => {
      status.set(requesterOf(req).userId, req.params["userId"] ?? "", req.body.presence, req.body.status_msg);
      return {};
    },
  };
  return [get, put];
}
