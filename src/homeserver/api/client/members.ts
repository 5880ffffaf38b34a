// client-server-api#getting-events-for-a-room: rooms.yaml GET /members and GET /joined_members.
import { MatrixError } from "../../../core/errors.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { Membership, RoomReader } from "../../events/room-reader.ts";
import { roomIdParam, tokenParam } from "./event-params.ts";
import { nonGuestRequesterOf, queryParam, requesterOf } from "./requester.ts";

const MEMBERSHIPS: readonly string[] = ["join", "invite", "knock", "leave", "ban"];

function membershipParam(req: MatrixRequest, name: string): Membership | undefined {
  const value = queryParam(req, name);
  if (value === undefined) return undefined;
  if (!MEMBERSHIPS.includes(value)) throw new MatrixError("M_INVALID_PARAM", `${name} must be one of ${MEMBERSHIPS.join(", ")}`, 400);
  return value as Membership;
}

export function membersEndpoints(reader: RoomReader): Endpoint[] {
  const members: Endpoint = {
    name: "client.members",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/members"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) =>
      await reader.members(requesterOf(req), roomIdParam(req), {
        at: tokenParam(req, "at").position,
        membership: membershipParam(req, "membership"),
        notMembership: membershipParam(req, "not_membership"),
      }),
  };

  const joined: Endpoint = {
    name: "client.joined_members",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/joined_members"),
    resource: "client",
    auth: "accessToken",
    // Not among the endpoints guests may use (modules/guest_access.md).
    handler: async (req) => await reader.joinedMembers(nonGuestRequesterOf(req), roomIdParam(req)),
  };

  return [members, joined];
}
