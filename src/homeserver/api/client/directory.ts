// The published room directory (client-server-api#published-room-directory, list_public_rooms.yaml):
// GET/PUT /directory/list/room/{roomId}, GET and POST /publicRooms.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { publicRoomsQuery, type DirectoryVisibility, type RoomDirectoryService } from "../../rooms/directory.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

/** GET's limit, as a number (the query carries strings). */
function limitParam(req: MatrixRequest): number | undefined {
  const raw = queryParam(req, "limit");
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new MatrixError("M_INVALID_PARAM", "limit must be a non-negative integer", 400);
  return Number(raw);
}

export function directoryEndpoints(directory: RoomDirectoryService, serverName: string): Endpoint[] {
  const path = clientPaths("/directory/list/room/:roomId");

  // Other servers' directories come with federation; until then, only ours is listed.
  const checkServer = (req: MatrixRequest): void => {
    const server = queryParam(req, "server");
    if (server !== undefined && server !== serverName) throw new MatrixError("M_NOT_FOUND", `The directory of ${server} is not available`, 404);
  };

  const getVisibility: Endpoint = {
    name: "client.get_directory_visibility",
    method: "GET",
    paths: path,
    resource: "client",
    auth: "none",
    handler: async (req) => ({ visibility: await directory.getVisibility(req.params["roomId"] ?? "") }),
  };

  const setVisibility: Endpoint<{ visibility?: DirectoryVisibility }> = {
    name: "client.set_directory_visibility",
    method: "PUT",
    paths: path,
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { visibility: { enum: ["public", "private"] } } },
    handler: async (req) => {
      await directory.setVisibility(nonGuestRequesterOf(req), req.params["roomId"] ?? "", req.body.visibility ?? "public");
      return {};
    },
  };

  const listPublic: Endpoint = {
    name: "client.public_rooms",
    method: "GET",
    paths: clientPaths("/publicRooms"),
    resource: "client",
    auth: "none",
    handler: async (req) => {
      checkServer(req);
      return await directory.publicRooms(publicRoomsQuery(limitParam(req), queryParam(req, "since"), undefined));
    },
  };

  const queryPublic: Endpoint<JsonObject> = {
    name: "client.query_public_rooms",
    method: "POST",
    paths: clientPaths("/publicRooms"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: {
        limit: { type: "integer" },
        since: { type: "string" },
        filter: { type: "object", properties: { generic_search_term: { type: "string" }, room_types: { type: "array" } } },
        include_all_networks: { type: "boolean" },
        third_party_instance_id: { type: "string" },
      },
    },
    handler: async (req) => {
      checkServer(req);
      return await directory.publicRooms(publicRoomsQuery(req.body["limit"], req.body["since"], req.body["filter"]));
    },
  };

  return [getVisibility, setVisibility, listPublic, queryPublic];
}
