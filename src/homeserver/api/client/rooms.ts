// Rooms: POST /createRoom (create_room.yaml), GET /joined_rooms (list_joined_rooms.yaml) and
// POST /rooms/{roomId}/upgrade (room_upgrades.yaml). A suspended account (client-server-api#account-
// suspension) creates and upgrades no rooms: both send events.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type JsonSchema } from "../../../http/endpoint.ts";
import type { MembershipService } from "../../rooms/membership-service.ts";
import type { CreateRoomBody, RoomCreationService } from "../../rooms/room-creation.ts";
import type { RoomUpgradeService } from "../../rooms/upgrade.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

const stringArray = { type: "array", items: { type: "string" } };

// create_room.yaml, the request body.
const createRoomSchema: JsonSchema = {
  type: "object",
  properties: {
    visibility: { enum: ["public", "private"] },
    room_alias_name: { type: "string" },
    name: { type: "string" },
    topic: { type: "string" },
    invite: stringArray,
    // definitions/invite_3pid.yaml: all four required.
    invite_3pid: {
      type: "array",
      items: {
        type: "object",
        properties: { id_server: { type: "string" }, id_access_token: { type: "string" }, medium: { type: "string" }, address: { type: "string" } },
        required: ["id_server", "id_access_token", "medium", "address"],
      },
    },
    room_version: { type: "string" },
    creation_content: { type: "object" },
    initial_state: {
      type: "array",
      items: {
        type: "object",
        properties: { type: { type: "string" }, state_key: { type: "string" }, content: { type: "object" } },
        required: ["type", "content"],
      },
    },
    preset: { enum: ["private_chat", "public_chat", "trusted_private_chat"] },
    is_direct: { type: "boolean" },
    power_level_content_override: { type: "object" },
  },
};

export function roomEndpoints(services: { creation: RoomCreationService; membership: MembershipService; upgrades: RoomUpgradeService }): Endpoint[] {
  const createRoom: Endpoint<CreateRoomBody> = {
    name: "client.create_room",
    method: "POST",
    paths: clientPaths("/createRoom"),
    resource: "client",
    auth: "accessToken",
    schema: createRoomSchema,
    refusedWhileSuspended: true,
    handler: async (req) => {
      const { roomId } = await services.creation.createRoom(nonGuestRequesterOf(req), req.body);
      return { room_id: roomId };
    },
  };

  const joinedRooms: Endpoint = {
    name: "client.joined_rooms",
    method: "GET",
    paths: clientPaths("/joined_rooms"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ joined_rooms: await services.membership.joinedRooms(requesterOf(req).userId) }),
  };

  const upgrade: Endpoint<JsonObject> = {
    name: "client.upgrade_room",
    method: "POST",
    paths: clientPaths("/rooms/:roomId/upgrade"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: { new_version: { type: "string" }, additional_creators: stringArray },
      required: ["new_version"],
    },
    refusedWhileSuspended: true,
    handler: async (req) => {
      const body = req.body as { new_version: string; additional_creators?: string[] };
      const { replacementRoom } = await services.upgrades.upgrade(nonGuestRequesterOf(req), req.params["roomId"] ?? "", body.new_version, body.additional_creators);
      return { replacement_room: replacementRoom };
    },
  };

  return [createRoom, joinedRooms, upgrade];
}
