// PUT /_matrix/federation/v1|v2/invite/{roomId}/{eventId} (invites-v1.yaml, invites-v2.yaml).
import { MatrixError } from "../../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../../core/json.ts";
import { HttpReply, type Endpoint } from "../../../http/endpoint.ts";
import type { FederationInvites } from "../../federation/invites.ts";
import { originOf } from "./origin.ts";

export function inviteEndpoints(invites: FederationInvites): Endpoint[] {
  const v2: Endpoint<JsonObject> = {
    name: "federation.invite_v2",
    method: "PUT",
    paths: ["/_matrix/federation/v2/invite/:roomId/:eventId"],
    resource: "federation",
    auth: "federation",
    schema: { type: "object", required: ["room_version", "event"], properties: { room_version: { type: "string" }, event: { type: "object" } } },
    handler: async (req) => {
      const { room_version: roomVersion, event, invite_room_state: state } = req.body;
      const signed = await invites.receive(originOf(req), req.params["roomId"] ?? "", req.params["eventId"] ?? "", roomVersion as string, event, state);
      return { event: signed };
    },
  };
  const v1: Endpoint<JsonObject> = {
    name: "federation.invite_v1",
    method: "PUT",
    paths: ["/_matrix/federation/v1/invite/:roomId/:eventId"],
    resource: "federation",
    auth: "federation",
    schema: { type: "object" },
    handler: async (req) => {
      const unsigned = req.body["unsigned"];
      const state = isJsonObject(unsigned) ? unsigned["invite_room_state"] : undefined;
      // invites-v1.yaml: "Servers which receive a v1 invite request must assume that the room version is either "1" or "2"."
      if (typeof req.body["event_id"] !== "string") throw new MatrixError("M_INVALID_PARAM", "A v1 invite is of a room version 1 or 2 event", 400);
      const signed = await invites.receive(originOf(req), req.params["roomId"] ?? "", req.params["eventId"] ?? "", "1", req.body, state);
      return HttpReply.json(200, [200, { event: signed }]);
    },
  };
  return [v1 as Endpoint, v2 as Endpoint];
}
