// modules/push.md#client-behaviour: pusher.yaml, GET /pushers and POST /pushers/set.
import type { JsonObject } from "../../../core/json.ts";
import { pusherJson } from "../../../core/push/pusher.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { PusherService } from "../../push/pusher-service.ts";
import { nonGuestRequesterOf } from "./requester.ts";

// pusher.yaml: the body's types; what each kind requires besides is checked by parsePusherChange.
const SET_SCHEMA = {
  type: "object",
  required: ["kind", "app_id", "pushkey"],
  properties: {
    kind: { type: ["string", "null"] },
    app_id: { type: "string" },
    pushkey: { type: "string" },
    app_display_name: { type: "string" },
    device_display_name: { type: "string" },
    profile_tag: { type: "string" },
    lang: { type: "string" },
    data: { type: "object" },
    append: { type: "boolean" },
  },
};

export function pusherEndpoints(pushers: PusherService): Endpoint[] {
  const list: Endpoint = {
    name: "client.pushers",
    method: "GET",
    paths: clientPaths("/pushers"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ pushers: pushers.list(nonGuestRequesterOf(req).userId).map(pusherJson) }),
  };
  const set: Endpoint<JsonObject> = {
    name: "client.set_pusher",
    method: "POST",
    paths: clientPaths("/pushers/set"),
    resource: "client",
    auth: "accessToken",
    schema: SET_SCHEMA,
    handler: async (req) => {
      await pushers.set(nonGuestRequesterOf(req), req.body);
      return {};
    },
  };
  return [list, set];
}
