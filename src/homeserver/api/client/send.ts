// client-server-api#sending-events-to-a-room: room_send.yaml (PUT /send) and redaction.yaml
// (PUT /redact), rate limited as messages (Synapse's rc_message). Guests may send
// (modules/guest_access.md), not redact. A suspended account (client-server-api#account-suspension)
// may redact its own events, through either endpoint, and send nothing else.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { EventSender } from "../../events/sender.ts";
import { pathParam, roomIdParam } from "./event-params.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

export function sendEndpoints(sender: EventSender): Endpoint[] {
  const send: Endpoint<JsonObject> = {
    name: "client.send_message",
    method: "PUT",
    paths: clientPaths("/rooms/:roomId/send/:eventType/:txnId"),
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_message",
    schema: { type: "object" },
    refusedWhileSuspended: async (req) => {
      if (pathParam(req, "eventType") !== "m.room.redaction") return true;
      const redacts = (req.body as JsonObject)["redacts"];
      return typeof redacts !== "string" || !(await sender.isOwnEvent(requesterOf(req).userId, redacts));
    },
    handler: async (req) => ({
      event_id: await sender.sendMessage(requesterOf(req), roomIdParam(req), pathParam(req, "eventType"), pathParam(req, "txnId"), req.body),
    }),
  };

  const redact: Endpoint<JsonObject> = {
    name: "client.redact",
    method: "PUT",
    paths: clientPaths("/rooms/:roomId/redact/:eventId/:txnId"),
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_message",
    schema: { type: "object", properties: { reason: { type: "string" } } },
    refusedWhileSuspended: async (req) => !(await sender.isOwnEvent(requesterOf(req).userId, pathParam(req, "eventId"))),
    handler: async (req) => {
      const reason = req.body["reason"];
      return {
        event_id: await sender.redact(
          nonGuestRequesterOf(req),
          roomIdParam(req),
          pathParam(req, "eventId"),
          pathParam(req, "txnId"),
          typeof reason === "string" ? reason : undefined,
        ),
      };
    },
  };

  return [send as Endpoint, redact as Endpoint];
}
