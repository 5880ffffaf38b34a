// Third-party lookups (modules/third_party_networks.md, client-server third_party_lookup.yaml):
// the protocols bridged into Matrix, and their locations and users.
//
// These are the application services' to fill in: a homeserver knows a protocol only from an
// application service's registration (application-service-api#third-party-networks) and answers
// the lookups by asking the services registered for it (application-service protocols.yaml).
// Without application services no protocol is bridged: no protocols, and nothing found in any lookup.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject, JsonValue } from "../../../core/json.ts";
import { clientPaths, HttpReply, type Endpoint, type MatrixRequest, type MatrixResponse } from "../../../http/endpoint.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

/**
 * A lookup endpoint; guests are refused first (modules/guest_access.md does not list the third-party
 * lookups among the endpoints guests may call).
 */
/** The application services' answers (src/homeserver/appservices/queries.ts). */
export interface ThirdPartyLookups {
  readonly protocols: readonly string[];
  protocol(protocol: string): Promise<JsonObject | undefined>;
  lookup(kind: "user" | "location", protocol: string | undefined, query: Readonly<Record<string, string>>): Promise<JsonValue[]>;
}

const NONE: ThirdPartyLookups = { protocols: [], protocol: async () => undefined, lookup: async () => [] };

/** The request's query parameters with one value each (the fields a lookup passes on). */
function fieldsOf(req: MatrixRequest): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const key of Object.keys(req.query)) {
    const value = queryParam(req, key);
    if (value !== undefined && key !== "access_token") fields[key] = value;
  }
  return fields;
}

/** A list of results, or 404 M_NOT_FOUND when it is empty (third_party_lookup.yaml). */
function found(results: JsonValue[], message: string): HttpReply {
  if (results.length === 0) notFound(message);
  return HttpReply.json(200, results);
}

function lookup(name: string, path: string, answer: (req: MatrixRequest) => MatrixResponse | Promise<MatrixResponse>): Endpoint {
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

export function thirdPartyEndpoints(thirdParty: ThirdPartyLookups = NONE): Endpoint[] {
  const known = (req: MatrixRequest): string => {
    const protocol = req.params["protocol"] ?? "";
    if (!thirdParty.protocols.includes(protocol)) notFound(`Unknown protocol ${JSON.stringify(protocol)}`);
    return protocol;
  };
  return [
    // third_party_lookup.yaml GET /thirdparty/protocols: a dictionary of the supported protocols,
    // each as its services describe it (a service that does not answer leaves its protocol out).
    lookup("thirdparty_protocols", "/thirdparty/protocols", async () => {
      const answer: JsonObject = {};
      for (const protocol of thirdParty.protocols) {
        const described = await thirdParty.protocol(protocol);
        if (described !== undefined) answer[protocol] = described;
      }
      return answer;
    }),
    // GET /thirdparty/protocol/{protocol}: 404 M_NOT_FOUND "The protocol is unknown".
    lookup("thirdparty_protocol", "/thirdparty/protocol/:protocol", async (req) => {
      const described = await thirdParty.protocol(known(req));
      return described ?? notFound(`Unknown protocol ${JSON.stringify(req.params["protocol"] ?? "")}`);
    }),
    // GET /thirdparty/location/{protocol}: 200 only when "at least one portal room was found", 404
    // M_NOT_FOUND "No portal rooms were found" otherwise; /thirdparty/user/{protocol} likewise.
    lookup("thirdparty_location_by_protocol", "/thirdparty/location/:protocol", async (req) =>
      found(await thirdParty.lookup("location", known(req), fieldsOf(req)), "No portal rooms were found"),
    ),
    lookup("thirdparty_user_by_protocol", "/thirdparty/user/:protocol", async (req) =>
      found(await thirdParty.lookup("user", known(req), fieldsOf(req)), "No users were found"),
    ),
    // GET /thirdparty/location and /thirdparty/user: `alias` / `userid` are required; with no mapping,
    // 404 M_NOT_FOUND (as the application services answer, protocols.yaml "No mappings were found").
    lookup("thirdparty_location_by_alias", "/thirdparty/location", async (req) => {
      const alias = requiredQuery(req, "alias");
      return found(await thirdParty.lookup("location", undefined, { alias }), "No third-party locations were found for this alias");
    }),
    lookup("thirdparty_user_by_id", "/thirdparty/user", async (req) => {
      const userid = requiredQuery(req, "userid");
      return found(await thirdParty.lookup("user", undefined, { userid }), "No third-party users were found for this user ID");
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
