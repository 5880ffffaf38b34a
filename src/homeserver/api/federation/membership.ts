// Membership handshakes through this server as a resident (server-server-api#joining-rooms,
// #knocking-rooms, #leaving-rooms-rejecting-invites): joins-v1/v2.yaml, leaving-v1/v2.yaml,
// knocks.yaml; and third_party_invite.yaml's exchange_third_party_invite.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { HttpReply, type Endpoint } from "../../../http/endpoint.ts";
import type { MembershipHandshake, ResidentMembership } from "../../federation/resident-membership.ts";
import type { ThirdPartyInviteExchange } from "../../federation/third-party-invites.ts";
import { originOf, queryList } from "./origin.ts";

function makeEndpoint(kind: MembershipHandshake, resident: ResidentMembership): Endpoint {
  return {
    name: `federation.make_${kind}`,
    method: "GET",
    paths: [`/_matrix/federation/v1/make_${kind}/:roomId/:userId`],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      const versions = kind === "leave" ? undefined : queryList(req, "ver");
      // knocks.yaml make_knock: `ver` is "required: true" (make_join's "Defaults to [1]").
      if (kind === "knock" && versions?.length === 0) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: ver", 400);
      return resident.make(kind, originOf(req), req.params["roomId"] ?? "", req.params["userId"] ?? "", versions);
    },
  };
}

/** send_join and send_leave v1 answer `[200, {...}]` (joins-v1.yaml, leaving-v1.yaml). */
function sendEndpoint(kind: MembershipHandshake, apiVersion: "v1" | "v2", resident: ResidentMembership): Endpoint<JsonObject> {
  return {
    name: `federation.send_${kind}_${apiVersion}`,
    method: "PUT",
    paths: [`/_matrix/federation/${apiVersion}/send_${kind}/:roomId/:eventId`],
    resource: "federation",
    auth: "federation",
    schema: { type: "object" },
    handler: async (req) => {
      const answer = await resident.send(kind, originOf(req), req.params["roomId"] ?? "", req.params["eventId"] ?? "", req.body);
      return apiVersion === "v1" && kind !== "knock" ? HttpReply.json(200, [200, answer]) : answer;
    },
  };
}

export function membershipEndpoints(resident: ResidentMembership, thirdPartyInvites?: ThirdPartyInviteExchange): Endpoint[] {
  const exchangeThirdPartyInvite: Endpoint<JsonObject> = {
    name: "federation.exchange_third_party_invite",
    method: "PUT",
    paths: ["/_matrix/federation/v1/exchange_third_party_invite/:roomId"],
    resource: "federation",
    auth: "federation",
    schema: { type: "object" },
    handler: async (req) => {
      if (thirdPartyInvites === undefined) throw new MatrixError("M_UNRECOGNIZED", "Third-party invites are not supported here", 404);
      await thirdPartyInvites.receive(originOf(req), req.params["roomId"] ?? "", req.body);
      return {};
    },
  };
  return [
    makeEndpoint("join", resident),
    makeEndpoint("leave", resident),
    makeEndpoint("knock", resident),
    sendEndpoint("join", "v1", resident) as Endpoint,
    sendEndpoint("join", "v2", resident) as Endpoint,
    sendEndpoint("leave", "v1", resident) as Endpoint,
    sendEndpoint("leave", "v2", resident) as Endpoint,
    sendEndpoint("knock", "v1", resident) as Endpoint,
    exchangeThirdPartyInvite as Endpoint,
  ];
}
