// client-server-api#filtering: filter.yaml. The filter itself is validated by the filter service
// (sync validates inline filters the same way).
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { FilterService } from "../../filters/filter-service.ts";
import { requesterOf } from "./requester.ts";

export function filterEndpoints(filters: FilterService): Endpoint[] {
  const create: Endpoint<JsonObject> = {
    name: "client.create_filter",
    method: "POST",
    paths: clientPaths("/user/:userId/filter"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ filter_id: await filters.create(requesterOf(req), req.params["userId"] ?? "", req.body) }),
  };

  const get: Endpoint = {
    name: "client.filter",
    method: "GET",
    paths: clientPaths("/user/:userId/filter/:filterId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => filters.get(requesterOf(req), req.params["userId"] ?? "", req.params["filterId"] ?? ""),
  };

  return [create, get];
}
