// Room membership (client-server-api#room-membership): joining.yaml, knocking.yaml, inviting.yaml,
// leaving.yaml, kicking.yaml, banning.yaml. Joins are limited by rc_joins_local. A suspended account
// (client-server-api#account-suspension) may not join, knock or invite, and may still leave.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type JsonSchema, type MatrixRequest } from "../../../http/endpoint.ts";
import type { MembershipService } from "../../rooms/membership-service.ts";
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

/** joining.yaml: `via` (and the deprecated `server_name`, both repeatable) name servers to join through. */
function viaServers(req: MatrixRequest): string[] {
  return [...queryList(req, "via"), ...queryList(req, "server_name")];
}

export function membershipEndpoints(membership: MembershipService): Endpoint[] {
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
      const { roomId } = await membership.join(requester, roomIdOrAlias, {
        via: viaServers(req),
        reason: req.body.reason,
        thirdPartySigned: req.body.third_party_signed,
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
      const { roomId } = await membership.join(requesterOf(req), req.params["roomId"] ?? "", {
        reason: req.body.reason,
        thirdPartySigned: req.body.third_party_signed,
      });
      return { room_id: roomId };
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

  const invite: Endpoint<TargetBody> = {
    name: "client.invite",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/invite"),
    resource: "client",
    auth: "accessToken",
    schema: { ...targetSchema, properties: { ...(targetSchema["properties"] as object), is_direct: { type: "boolean" } } },
    refusedWhileSuspended: true,
    handler: async (req) => {
      await membership.invite(nonGuestRequesterOf(req), req.params["roomId"] ?? "", req.body.user_id, { reason: req.body.reason, isDirect: req.body.is_direct });
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
