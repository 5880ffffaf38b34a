// GET /_matrix/client/v1/room_summary/{roomIdOrAlias} (room_summary.yaml, v1.15), with or without an
// access token; also under MSC3266's unstable path, which matrix-js-sdk's getRoomSummary asks.
import type { Endpoint } from "../../../http/endpoint.ts";
import type { RoomSummaryService } from "../../rooms/room-summaries.ts";
import { queryList } from "./requester.ts";

export function roomSummaryEndpoints(summaries: RoomSummaryService): Endpoint[] {
  const summary: Endpoint = {
    name: "client.room_summary",
    method: "GET",
    paths: ["/_matrix/client/v1/room_summary/:roomIdOrAlias", "/_matrix/client/unstable/im.nheko.summary/summary/:roomIdOrAlias"],
    resource: "client",
    auth: "optionalAccessToken",
    // `via` (repeatable) names the servers to ask for a room not known here.
    handler: async (req) => await summaries.summary(req.params["roomIdOrAlias"] ?? "", req.requester?.userId, queryList(req, "via")),
  };
  return [summary];
}
