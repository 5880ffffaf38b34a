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
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

// Every handler starts with nonGuestRequesterOf: modules/guest_access.md does not list the
// third-party lookups among the endpoints guests may call.
export function thirdPartyEndpoints(): Endpoint[] {
  return [
    {
      name: "client.thirdparty_protocols",
      method: "GET",
      paths: clientPaths("/thirdparty/protocols"),
      resource: "client",
      auth: "accessToken",
      handler: async (req) => {
        nonGuestRequesterOf(req);
        // third_party_lookup.yaml GET /thirdparty/protocols: a dictionary of the supported protocols; none here.
        return {};
      },
    },
    {
      name: "client.thirdparty_protocol",
      method: "GET",
      paths: clientPaths("/thirdparty/protocol/:protocol"),
      resource: "client",
      auth: "accessToken",
      // third_party_lookup.yaml GET /thirdparty/protocol/{protocol}: 404 M_NOT_FOUND "The protocol is unknown".
      handler: async (req) => {
        nonGuestRequesterOf(req);
        return notFound(`Unknown protocol ${JSON.stringify(req.params["protocol"] ?? "")}`);
      },
    },
    {
      name: "client.thirdparty_location_by_protocol",
      method: "GET",
      paths: clientPaths("/thirdparty/location/:protocol"),
      resource: "client",
      auth: "accessToken",
      // third_party_lookup.yaml GET /thirdparty/location/{protocol}: 200 only when "at least one portal
      // room was found", 404 M_NOT_FOUND "No portal rooms were found" otherwise.
      handler: async (req) => {
        nonGuestRequesterOf(req);
        return notFound("No portal rooms were found");
      },
    },
    {
      name: "client.thirdparty_user_by_protocol",
      method: "GET",
      paths: clientPaths("/thirdparty/user/:protocol"),
      resource: "client",
      auth: "accessToken",
      // third_party_lookup.yaml GET /thirdparty/user/{protocol}: 404 M_NOT_FOUND when no Matrix user was found.
      handler: async (req) => {
        nonGuestRequesterOf(req);
        return notFound("No users were found");
      },
    },
    {
      name: "client.thirdparty_location_by_alias",
      method: "GET",
      paths: clientPaths("/thirdparty/location"),
      resource: "client",
      auth: "accessToken",
      handler: async (req) => {
        // third_party_lookup.yaml GET /thirdparty/location: `alias` is required; with no mapping for
        // it, 404 M_NOT_FOUND (as the application services answer, protocols.yaml "No mappings were found").
        nonGuestRequesterOf(req);
        requiredQuery(req, "alias");
        return notFound("No third-party locations were found for this alias");
      },
    },
    {
      name: "client.thirdparty_user_by_id",
      method: "GET",
      paths: clientPaths("/thirdparty/user"),
      resource: "client",
      auth: "accessToken",
      handler: async (req) => {
        // third_party_lookup.yaml GET /thirdparty/user: `userid` is required; with no mapping for it, 404 M_NOT_FOUND.
        nonGuestRequesterOf(req);
        requiredQuery(req, "userid");
        return notFound("No third-party users were found for this user ID");
      },
    },
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
