// Room membership (client-server-api#room-membership): joining.yaml, knocking.yaml, inviting.yaml,
// leaving.yaml, kicking.yaml, banning.yaml. Joins are limited by rc_joins_local. A suspended account
// (client-server-api#account-suspension) may not join, knock or invite, and may still leave.
// Invites by a third-party identifier (third_party_membership.yaml) share POST /invite.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type JsonSchema, type MatrixRequest, type Requester } from "../../../http/endpoint.ts";
import type { MembershipService } from "../../rooms/membership-service.ts";
import type { ThirdPartyInviteService } from "../../rooms/third-party-invites.ts";
import { nonGuestRequesterOf, queryList, requesterOf } from "./requester.ts";

const reasonOnly: JsonSchema = { type: "object", properties: { reason: { type: "string" } } };
const joinSchema: JsonSchema = { type: "object", properties: { reason: { type: "string" }, third_party_signed: { type: "object" } } };
const targetSchema: JsonSchema = {
  type: "object",
  properties: { user_id: { type: "string" }, reason: { type: "string" } },
  required: ["user_id"],
};

interface JoinBody {
  reason?: string;
  third_party_signed?: JsonObject;
}

interface TargetBody {
  user_id: string;
  reason?: string;
  is_direct?: boolean;
}

/** inviting.yaml's body or third_party_membership.yaml's (definitions/invite_3pid.yaml). */
interface InviteBody {
  user_id?: string;
  reason?: string;
  is_direct?: boolean;
  id_server?: string;
  id_access_token?: string;
  medium?: string;
  address?: string;
}

const THREEPID_FIELDS = ["id_server", "id_access_token", "medium", "address"] as const;

const inviteSchema: JsonSchema = {
  type: "object",
  properties: {
    user_id: { type: "string" },
    reason: { type: "string" },
    is_direct: { type: "boolean" },
    ...Object.fromEntries(THREEPID_FIELDS.map((field) => [field, { type: "string" }])),
  },
};

/** joining.yaml: `via` (and the deprecated `server_name`, both repeatable) name servers to join through. */
function viaServers(req: MatrixRequest): string[] {
  return [...queryList(req, "via"), ...queryList(req, "server_name")];
}

/**
 * A join with third_party_signed (joining.yaml: the server "must verify that it matches a pending
 * m.room.third_party_invite event in the room"): the third-party invite is redeemed into an invite
 * of the user first, as an identity server's onbind would, and the user then joins on it. An alias
 * is resolved first, since the invite is redeemed in a room. Answers the room to join, and the
 * join request to make: without third_party_signed once redeemed.
 */
async function redeemThirdPartySigned(
  membership: MembershipService,
  thirdPartyInvites: ThirdPartyInviteService | undefined,
  requester: Requester,
  roomIdOrAlias: string,
  via: readonly string[],
  body: JoinBody,
): Promise<{ target: string; via: readonly string[]; body: JoinBody }> {
  const signed = body.third_party_signed;
  if (signed === undefined || thirdPartyInvites === undefined) return { target: roomIdOrAlias, via, body };
  const sender = signed["sender"];
  if (typeof sender !== "string") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: third_party_signed.sender", 400);
  const { roomId, servers } = await membership.resolveTarget(roomIdOrAlias, via);
  await thirdPartyInvites.redeem(requester.userId, roomId, sender, signed);
  return { target: roomId, via: servers, body: body.reason === undefined ? {} : { reason: body.reason } };
}

export function membershipEndpoints(membership: MembershipService, thirdPartyInvites?: ThirdPartyInviteService): Endpoint[] {
  const joinByIdOrAlias: Endpoint<JoinBody> = {
    name: "client.join",
    method: "POST",
    paths: clientPaths("/join/:roomIdOrAlias"),
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_joins_local",
    schema: joinSchema,
    refusedWhileSuspended: true,
    handler: async (req) => {
      const roomIdOrAlias = req.params["roomIdOrAlias"] ?? "";
      // modules/guest_access.md lets guests join by room ID (POST /rooms/{roomId}/join); this is the
      // same request when given a room ID, and the one matrix-js-sdk and sytest make.
      const requester = roomIdOrAlias.startsWith("!") ? requesterOf(req) : nonGuestRequesterOf(req);
      const { target, via, body } = await redeemThirdPartySigned(membership, thirdPartyInvites, requester, roomIdOrAlias, viaServers(req), req.body);
      const { roomId } = await membership.join(requester, target, {
        via: [...via],
        reason: body.reason,
        thirdPartySigned: body.third_party_signed,
      });
      return { room_id: roomId };
    },
  };

  // modules/guest_access.md: guests may use this one (the room's guest access decides).
  const joinById: Endpoint<JoinBody> = {
    name: "client.join_room",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/join"),
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_joins_local",
    schema: joinSchema,
    refusedWhileSuspended: true,
    handler: async (req) => {
      const requester = requesterOf(req);
      const roomId = req.params["roomId"] ?? "";
      const { body } = await redeemThirdPartySigned(membership, thirdPartyInvites, requester, roomId, [], req.body);
      const joined = await membership.join(requester, roomId, { reason: body.reason, thirdPartySigned: body.third_party_signed });
      return { room_id: joined.roomId };
    },
  };

  const knock: Endpoint<{ reason?: string }> = {
    name: "client.knock",
    method: "POST",
    paths: clientPaths("/knock/:roomIdOrAlias", { r0: false }),
    resource: "client",
    auth: "accessToken",
    rateLimit: "rc_joins_local",
    schema: reasonOnly,
    refusedWhileSuspended: true,
    handler: async (req) => {
      const { roomId } = await membership.knock(nonGuestRequesterOf(req), req.params["roomIdOrAlias"] ?? "", { via: viaServers(req), reason: req.body.reason });
      return { room_id: roomId };
    },
  };

  const invite: Endpoint<InviteBody> = {
    name: "client.invite",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/invite"),
    resource: "client",
    auth: "accessToken",
    schema: inviteSchema,
    refusedWhileSuspended: true,
    handler: async (req) => {
      const body = req.body;
      const requester = nonGuestRequesterOf(req);
      const roomId = req.params["roomId"] ?? "";
      if (body.user_id !== undefined || THREEPID_FIELDS.every((field) => body[field] === undefined)) {
        if (body.user_id === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: user_id", 400);
        await membership.invite(requester, roomId, body.user_id, { reason: body.reason, isDirect: body.is_direct });
        return {};
      }
      // invite_3pid.yaml: all four are required.
      const { id_server: idServer, id_access_token: idAccessToken, medium, address } = body;
      if (idServer === undefined || idAccessToken === undefined || medium === undefined || address === undefined) {
        const missing = THREEPID_FIELDS.find((field) => body[field] === undefined) ?? "";
        throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${missing}`, 400);
      }
      if (thirdPartyInvites === undefined) throw new MatrixError("M_UNRECOGNIZED", "Third-party invites are not supported here", 400);
      await thirdPartyInvites.invite(requester, roomId, { id_server: idServer, id_access_token: idAccessToken, medium, address });
      return {};
    },
  };

  // modules/guest_access.md: guests may leave.
  const leave: Endpoint<{ reason?: string }> = {
    name: "client.leave",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/leave"),
    resource: "client",
    auth: "accessToken",
    schema: reasonOnly,
    handler: async (req) => {
      await membership.leave(requesterOf(req), req.params["roomId"] ?? "", req.body.reason);
      return {};
    },
  };

  const moderation = (action: "kick" | "ban" | "unban"): Endpoint<TargetBody> => ({
    name: `client.${action}`,
    method: "POST",
    paths: clientPaths(`/rooms/:roomId/${action}`),
    resource: "client",
    auth: "accessToken",
    schema: targetSchema,
    handler: async (req) => {
      await membership.moderate(nonGuestRequesterOf(req), action, req.params["roomId"] ?? "", req.body.user_id, req.body.reason);
      return {};
    },
  });

  const forget: Endpoint = {
    name: "client.forget",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/forget"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await membership.forget(nonGuestRequesterOf(req), req.params["roomId"] ?? "");
      return {};
    },
  };

  return [joinByIdOrAlias, joinById, knock, invite, leave, moderation("kick"), moderation("ban"), moderation("unban"), forget];
}
