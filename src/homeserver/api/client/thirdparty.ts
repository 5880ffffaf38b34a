// Third-party lookups (modules/third_party_networks.md, client-server third_party_lookup.yaml):
// the protocols bridged into Matrix, and their locations and users.
//
// These are the application services' to fill in: a homeserver knows a protocol only from an
// application service's registration (application-service-api#third-party-networks) and answers
// the lookups by asking the services registered for it (application-service protocols.yaml). Weft
// runs no application services yet, so no protocol is bridged here, and what follows is the whole
// and correct answer for such a server, not a stub: no protocols, and nothing found in any lookup.
// When application services come, these answers come from them.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

/**
 * A lookup endpoint; guests are refused first (modules/guest_access.md does not list the third-party
 * lookups among the endpoints guests may call).
 */
function lookup(name: string, path: string, answer: (req: MatrixRequest) => JsonObject): Endpoint {
  return {
    name: `client.${name}`,
    method: "GET",
    paths: clientPaths(path),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      nonGuestRequesterOf(req);
      return answer(req);
    },
  };
}

export function thirdPartyEndpoints(): Endpoint[] {
  return [
    // third_party_lookup.yaml GET /thirdparty/protocols: a dictionary of the supported protocols; none here.
    lookup("thirdparty_protocols", "/thirdparty/protocols", () => ({})),
    // GET /thirdparty/protocol/{protocol}: 404 M_NOT_FOUND "The protocol is unknown".
    lookup("thirdparty_protocol", "/thirdparty/protocol/:protocol", (req) => notFound(`Unknown protocol ${JSON.stringify(req.params["protocol"] ?? "")}`)),
    // GET /thirdparty/location/{protocol}: 200 only when "at least one portal room was found", 404
    // M_NOT_FOUND "No portal rooms were found" otherwise; /thirdparty/user/{protocol} likewise.
    lookup("thirdparty_location_by_protocol", "/thirdparty/location/:protocol", () => notFound("No portal rooms were found")),
    lookup("thirdparty_user_by_protocol", "/thirdparty/user/:protocol", () => notFound("No users were found")),
    // GET /thirdparty/location and /thirdparty/user: `alias` / `userid` are required; with no mapping,
    // 404 M_NOT_FOUND (as the application services answer, protocols.yaml "No mappings were found").
    lookup("thirdparty_location_by_alias", "/thirdparty/location", (req) => {
      requiredQuery(req, "alias");
      return notFound("No third-party locations were found for this alias");
    }),
    lookup("thirdparty_user_by_id", "/thirdparty/user", (req) => {
      requiredQuery(req, "userid");
      return notFound("No third-party users were found for this user ID");
    }),
  ];
}

function notFound(message: string): never {
  throw new MatrixError("M_NOT_FOUND", message, 404);
}

/** A required query parameter, or 400 M_MISSING_PARAM. */
function requiredQuery(req: MatrixRequest, name: string): string {
  const value = queryParam(req, name);
  if (value === undefined || value === "") throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${name}`, 400);
  return value;
}
