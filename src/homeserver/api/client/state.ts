// client-server-api#sending-events-to-a-room and #getting-events-for-a-room: room_state.yaml
// (PUT /state) and rooms.yaml (GET /state, GET /state/{eventType}/{stateKey}, GET /event/{eventId}).
// "When an empty string, the trailing slash on this endpoint is optional": /state/{eventType} and
// /state/{eventType}/ both mean the empty state key.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, HttpReply, type Endpoint } from "../../../http/endpoint.ts";
import type { RoomReader } from "../../events/room-reader.ts";
import type { EventSender } from "../../events/sender.ts";
import { pathParam, roomIdParam } from "./event-params.ts";
import { queryParam, requesterOf } from "./requester.ts";

const STATE_PATHS = [...clientPaths("/rooms/:roomId/state/:eventType"), ...clientPaths("/rooms/:roomId/state/:eventType/:stateKey")];

export function stateEndpoints(sender: EventSender, reader: RoomReader): Endpoint[] {
  const put: Endpoint<JsonObject> = {
    name: "client.send_state",
    method: "PUT",
    paths: STATE_PATHS,
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_message",
    schema: { type: "object" },
    // client-server-api#account-suspension: a suspended account sends nothing to rooms.
    refusedWhileSuspended: true,
    handler: async (req) => ({
      event_id: await sender.sendState(requesterOf(req), roomIdParam(req), pathParam(req, "eventType"), pathParam(req, "stateKey"), req.body),
    }),
  };

  const get: Endpoint = {
    name: "client.state_event",
    method: "GET",
    paths: STATE_PATHS,
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const format = queryParam(req, "format") ?? "content";
      if (format !== "content" && format !== "event") throw new MatrixError("M_INVALID_PARAM", "format must be 'content' or 'event'", 400);
      return await reader.stateEvent(requesterOf(req), roomIdParam(req), pathParam(req, "eventType"), pathParam(req, "stateKey"), format);
    },
  };

  const all: Endpoint = {
    name: "client.room_state",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/state"),
    resource: "client",
    auth: "accessToken",
    // The answer is a JSON array (rooms.yaml RoomState).
    handler: async (req) => HttpReply.json(200, await reader.state(requesterOf(req), roomIdParam(req))),
  };

  const event: Endpoint = {
    name: "client.room_event",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/event/:eventId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await reader.event(requesterOf(req), roomIdParam(req), pathParam(req, "eventId")),
  };

  return [put as Endpoint, get, all, event];
}
