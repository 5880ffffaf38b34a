// POST /rooms/{roomId}/read_markers (modules/read_markers.md, read_markers.yaml).
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { ReadMarkerService } from "../../sync/read-markers.ts";
import { requesterOf } from "./requester.ts";

interface ReadMarkersBody {
  readonly "m.fully_read"?: string;
  readonly "m.read"?: string;
  readonly "m.read.private"?: string;
}

export function readMarkerEndpoints(readMarkers: ReadMarkerService): Endpoint[] {
  const eventId = { type: "string", pattern: "^\\$" };
  const endpoint: Endpoint<ReadMarkersBody> = {
    name: "client.read_markers",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/read_markers"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { "m.fully_read": eventId, "m.read": eventId, "m.read.private": eventId } },
    handler: async (req) => {
      await readMarkers.setReadMarkers(requesterOf(req).userId, req.params["roomId"] ?? "", {
        fullyRead: req.body["m.fully_read"],
        read: req.body["m.read"],
        readPrivate: req.body["m.read.private"],
      });
      return {};
    },
  };
  return [endpoint];
}
