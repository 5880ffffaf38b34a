// POST /rooms/{roomId}/receipt/{receiptType}/{eventId} (modules/receipts.md, receipts.yaml).
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { ReadMarkerService } from "../../sync/read-markers.ts";
import { requesterOf } from "./requester.ts";

export function receiptEndpoints(readMarkers: ReadMarkerService): Endpoint[] {
  const endpoint: Endpoint<JsonObject> = {
    name: "client.receipt",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/receipt/:receiptType/:eventId"),
    resource: "client",
    auth: "accessToken",
    // The body's `thread_id` is checked by the service, which answers the spec's M_INVALID_PARAM.
    schema: { type: "object" },
    handler: async (req) => {
      const p = req.params;
      await readMarkers.sendReceipt(requesterOf(req).userId, p["roomId"] ?? "", p["receiptType"] ?? "", p["eventId"] ?? "", req.body["thread_id"]);
      return {};
    },
  };
  return [endpoint];
}
