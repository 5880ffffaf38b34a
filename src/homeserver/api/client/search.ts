// client-server-api#server-side-search: search.yaml (POST /search). Not among the endpoints guests
// may use (modules/guest_access.md).
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type JsonSchema } from "../../../http/endpoint.ts";
import { roomEventFilterSchema } from "../../filters/filter-schema.ts";
import type { SearchService } from "../../search/search-service.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

/** search.yaml's request body: the shapes and enums; defaults and limits are the service's. */
const searchSchema: JsonSchema = {
  type: "object",
  required: ["search_categories"],
  properties: {
    search_categories: {
      type: "object",
      properties: {
        room_events: {
          type: "object",
          required: ["search_term"],
          properties: {
            search_term: { type: "string" },
            keys: { type: "array", items: { type: "string", enum: ["content.body", "content.name", "content.topic"] } },
            filter: roomEventFilterSchema,
            order_by: { type: "string", enum: ["recent", "rank"] },
            event_context: {
              type: "object",
              properties: {
                before_limit: { type: "integer" },
                after_limit: { type: "integer" },
                include_profile: { type: "boolean" },
              },
            },
            include_state: { type: "boolean" },
            groupings: {
              type: "object",
              properties: {
                group_by: {
                  type: "array",
                  items: { type: "object", properties: { key: { type: "string", enum: ["room_id", "sender"] } } },
                },
              },
            },
          },
        },
      },
    },
  },
};

export function searchEndpoints(search: SearchService): Endpoint[] {
  const endpoint: Endpoint<JsonObject> = {
    name: "client.search",
    method: "POST",
    paths: clientPaths("/search"),
    resource: "client",
    auth: "accessToken",
    schema: searchSchema,
    handler: async (req) => {
      const nextBatch = queryParam(req, "next_batch");
      return await search.search(nonGuestRequesterOf(req), req.body, nextBatch === "" ? undefined : nextBatch);
    },
  };
  return [endpoint as Endpoint];
}
