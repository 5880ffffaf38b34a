// Room aliases (client-server-api#room-aliases, directory.yaml): PUT, GET and DELETE
// /directory/room/{roomAlias}, and GET /rooms/{roomId}/aliases.
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { AliasService } from "../../rooms/aliases.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

export function aliasEndpoints(aliases: AliasService): Endpoint[] {
  const path = clientPaths("/directory/room/:roomAlias");

  const setAlias: Endpoint<{ room_id: string }> = {
    name: "client.set_room_alias",
    method: "PUT",
    paths: path,
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { room_id: { type: "string" } }, required: ["room_id"] },
    handler: async (req) => {
      await aliases.create(requesterOf(req), req.params["roomAlias"] ?? "", req.body.room_id);
      return {};
    },
  };

  const getAlias: Endpoint = {
    name: "client.get_room_alias",
    method: "GET",
    paths: path,
    resource: "client",
    auth: "none",
    handler: async (req) => {
      const { roomId, servers } = await aliases.resolve(req.params["roomAlias"] ?? "");
      return { room_id: roomId, servers };
    },
  };

  const deleteAlias: Endpoint = {
    name: "client.delete_room_alias",
    method: "DELETE",
    paths: path,
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await aliases.delete(nonGuestRequesterOf(req), req.params["roomAlias"] ?? "");
      return {};
    },
  };

  const localAliases: Endpoint = {
    name: "client.room_aliases",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/aliases", { r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ aliases: await aliases.localAliases(requesterOf(req), req.params["roomId"] ?? "") }),
  };

  return [setAlias, getAlias, deleteAlias, localAliases];
}
