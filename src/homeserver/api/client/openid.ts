// POST /_matrix/client/v3/user/{userId}/openid/request_token (client-server openid.yaml).
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { OpenidTokens } from "../../users/openid-tokens.ts";
import { nonGuestRequesterOf } from "./requester.ts";

export function openidRequestTokenEndpoint(tokens: OpenidTokens): Endpoint<JsonObject> {
  return {
    name: "client.openid_request_token",
    method: "POST",
    paths: clientPaths("/user/:userId/openid/request_token"),
    resource: "client",
    auth: "accessToken",
    // "An empty object. Reserved for future expansion."
    schema: { type: "object" },
    handler: async (req) => await tokens.requestToken(nonGuestRequesterOf(req).userId, req.params["userId"] ?? ""),
  };
}
