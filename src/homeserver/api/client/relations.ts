// client-server-api#relationships-api and modules/threading.md: relations.yaml (GET
// /v1/relations/{eventId}[/{relType}[/{eventType}]]) and threads_list.yaml (GET /v1/threads).
// relations.yaml: "this endpoint deliberately does not support rate limiting". Neither is among
// the endpoints guests may use (modules/guest_access.md).
import { MatrixError } from "../../../core/errors.ts";
import { MAX_EVENT_LIMIT } from "../../../core/filters/index.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { RelationsService } from "../../events/relations/relations-service.ts";
import { booleanParam, directionParam, limitParam, pathParam, roomIdParam, tokenParam } from "./event-params.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

const V1 = { versions: ["v1"], r0: false } as const;
/** Synapse's default page sizes for these two endpoints. */
const DEFAULT_RELATIONS_LIMIT = 5;
const DEFAULT_THREADS_LIMIT = 5;

export function relationsEndpoints(relations: RelationsService): Endpoint[] {
  const list: Endpoint = {
    name: "client.relations",
    method: "GET",
    paths: [
      ...clientPaths("/rooms/:roomId/relations/:eventId", V1),
      ...clientPaths("/rooms/:roomId/relations/:eventId/:relType", V1),
      ...clientPaths("/rooms/:roomId/relations/:eventId/:relType/:eventType", V1),
    ],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const from = tokenParam(req, "from");
      return await relations.relations(nonGuestRequesterOf(req), roomIdParam(req), pathParam(req, "eventId"), {
        relType: req.params["relType"],
        eventType: req.params["eventType"],
        from: from.position,
        fromToken: from.token,
        to: tokenParam(req, "to").position,
        dir: directionParam(req, "b"),
        limit: limitParam(req, DEFAULT_RELATIONS_LIMIT, MAX_EVENT_LIMIT),
        recurse: booleanParam(req, "recurse"),
      });
    },
  };

  const threads: Endpoint = {
    name: "client.threads",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/threads", V1),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const include = queryParam(req, "include") ?? "all";
      if (include !== "all" && include !== "participated") throw new MatrixError("M_INVALID_PARAM", "include must be 'all' or 'participated'", 400);
      // threads_list.yaml: `limit` "Must be an integer greater than zero."
      const limit = limitParam(req, DEFAULT_THREADS_LIMIT, MAX_EVENT_LIMIT);
      if (limit === 0) throw new MatrixError("M_INVALID_PARAM", "limit must be greater than zero", 400);
      return await relations.threads(nonGuestRequesterOf(req), roomIdParam(req), { include, limit, from: tokenParam(req, "from").position });
    },
  };

  return [list, threads];
}
