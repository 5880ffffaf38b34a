// GET /_matrix/federation/v1/openid/userinfo (server-server openid.yaml): called by third parties,
// not servers, so it takes no X-Matrix authorization: the OpenID token is the credential.
import type { Endpoint } from "../../../http/endpoint.ts";
import type { OpenidTokens } from "../../users/openid-tokens.ts";
import { requiredQuery } from "./origin.ts";

export function openidUserInfoEndpoint(tokens: OpenidTokens): Endpoint {
  return {
    name: "federation.openid_userinfo",
    method: "GET",
    paths: ["/_matrix/federation/v1/openid/userinfo"],
    // Served by federation listeners and by `openid` ones (which serve nothing else).
    resource: "openid",
    auth: "none",
    handler: async (req) => await tokens.userInfo(requiredQuery(req, "access_token")),
  };
}
