// GET /_matrix/federation/v1/hierarchy/{roomId} (server-server space_hierarchy.yaml, v1.2): a space
// and its children as the requesting server may see them. Not among the endpoints server ACLs
// protect (server-server-api#server-access-control-lists-acls lists them; /hierarchy is not one).
import type { Endpoint } from "../../../http/endpoint.ts";
import type { SpaceHierarchyService } from "../../rooms/hierarchy.ts";
import { booleanParam } from "../client/event-params.ts";
import { originOf } from "./origin.ts";

export function federationHierarchyEndpoints(hierarchy: SpaceHierarchyService): Endpoint[] {
  const get: Endpoint = {
    name: "federation.space_hierarchy",
    method: "GET",
    paths: ["/_matrix/federation/v1/hierarchy/:roomId"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      const origin = originOf(req);
      // suggested_only: "Optional (default false)".
      const suggestedOnly = booleanParam(req, "suggested_only") ?? false;
      return await hierarchy.federationHierarchy(origin, req.params["roomId"] ?? "", suggestedOnly);
    },
  };
  return [get];
}
