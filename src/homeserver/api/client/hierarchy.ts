// GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml, v1.2): a space's tree of rooms.
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import { HIERARCHY_LIMITS, type SpaceHierarchyService } from "../../rooms/hierarchy.ts";
import { booleanParam, limitParam, roomIdParam } from "./event-params.ts";
import { queryParam, requesterOf } from "./requester.ts";

export function hierarchyEndpoints(hierarchy: SpaceHierarchyService): Endpoint[] {
  const get: Endpoint = {
    name: "client.space_hierarchy",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/hierarchy", { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) =>
      await hierarchy.hierarchy(requesterOf(req).userId, roomIdParam(req), {
        suggestedOnly: booleanParam(req, "suggested_only") ?? false,
        limit: limitParam(req, HIERARCHY_LIMITS.defaultLimit, HIERARCHY_LIMITS.maxLimit),
        maxDepth: limitParam(req, HIERARCHY_LIMITS.defaultMaxDepth, HIERARCHY_LIMITS.maxDepth, "max_depth"),
        from: queryParam(req, "from"),
      }),
  };
  return [get];
}
