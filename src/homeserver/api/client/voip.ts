// GET /_matrix/client/v3/voip/turnServer (client-server voip.yaml, modules/voip_events.md).
import type { TurnConfig } from "../../../config/index.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import { turnCredentials } from "../../voip/turn-credentials.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

export function voipEndpoints(turn: TurnConfig, now: () => number = Date.now): Endpoint[] {
  return [
    {
      name: "client.voip_turn_server",
      method: "GET",
      paths: clientPaths("/voip/turnServer"),
      resource: "client",
      auth: "accessToken",
      handler: async (req) => {
        // Guests get TURN credentials unless `turn_allow_guests` is false (Synapse's rule); refused,
        // they get the spec's error for a resource closed to guests (client-server-api#other-error-codes).
        const requester = turn.allowGuests ? requesterOf(req) : nonGuestRequesterOf(req);
        return turnCredentials(turn, requester.userId, now());
      },
    },
  ];
}
