// The Client-Server API extensions for application services (application-service-api
// #client-server-api-extensions): POST /appservice/{appserviceId}/ping (appservice_ping.yaml).
import type { Endpoint } from "../../../http/endpoint.ts";
import type { AppserviceQueries } from "../../appservices/queries.ts";
import { requesterOf } from "./requester.ts";

export function appserviceEndpoints(queries: AppserviceQueries): Endpoint[] {
  const ping: Endpoint<{ transaction_id?: string }> = {
    name: "client.appservice_ping",
    method: "POST",
    paths: ["/_matrix/client/v1/appservice/:appserviceId/ping"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { transaction_id: { type: "string" } } },
    handler: async (req) => {
      // "This API cannot be invoked by users who are not identified as application services" (403).
      const durationMs = await queries.ping(requesterOf(req).appservice?.id, req.params["appserviceId"] ?? "", req.body.transaction_id);
      return { duration_ms: durationMs };
    },
  };
  return [ping];
}
