// The published room directory (client-server-api#published-room-directory, list_public_rooms.yaml):
// GET/PUT /directory/list/room/{roomId}, GET and POST /publicRooms, and an application service's
// PUT /directory/list/appservice/{networkId}/{roomId} (appservice_room_directory.yaml).
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { publicRoomsQuery, type DirectoryVisibility, type PublicRoomsQuery, type RoomDirectoryService } from "../../rooms/directory.ts";
import { directoryNetwork, type DirectoryNetwork } from "../../rooms/directory-networks.ts";
import type { RemoteDirectory } from "../../rooms/remote-joiner.ts";
import { nonGuestRequesterOf, queryParam, requesterOf } from "./requester.ts";

/** GET's limit, as a number (the query carries strings). */
function limitParam(req: MatrixRequest): number | undefined {
  const raw = queryParam(req, "limit");
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new MatrixError("M_INVALID_PARAM", "limit must be a non-negative integer", 400);
  return Number(raw);
}

export function directoryEndpoints(directory: RoomDirectoryService, serverName: string, remote: () => RemoteDirectory | undefined = () => undefined): Endpoint[] {
  const path = clientPaths("/directory/list/room/:roomId");

  // `server`: "The server to fetch the published room directory from. Defaults to the local server."
  const publicRoomsOf = async (req: MatrixRequest, query: PublicRoomsQuery, network: DirectoryNetwork): Promise<JsonObject> => {
    const server = queryParam(req, "server");
    if (server === undefined || server === serverName) return await directory.publicRooms(query, network);
    // Asking another server costs us a federation request: only for users of ours (as Synapse does).
    if (req.requester === undefined) throw new MatrixError("M_MISSING_TOKEN", "Listing another server's rooms needs an access token", 401);
    const other = remote();
    if (other === undefined) throw new MatrixError("M_NOT_FOUND", `The directory of ${server} is not available`, 404);
    return await other.publicRooms(server, { ...query, ...network });
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
    // No access token is needed for our own directory (list_public_rooms.yaml); see publicRoomsOf.
    auth: "optionalAccessToken",
    handler: async (req) => {
      // The networks are the POST body's, but Synapse reads them from GET's query too (as federation's GET has them).
      const network = directoryNetwork(queryParam(req, "include_all_networks"), queryParam(req, "third_party_instance_id"));
      return await publicRoomsOf(req, publicRoomsQuery(limitParam(req), queryParam(req, "since"), undefined), network);
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
      const network = directoryNetwork(req.body["include_all_networks"], req.body["third_party_instance_id"]);
      return await publicRoomsOf(req, publicRoomsQuery(req.body["limit"], req.body["since"], req.body["filter"]), network);
    },
  };

  const setNetworkVisibility: Endpoint<{ visibility: DirectoryVisibility }> = {
    name: "client.set_appservice_directory_visibility",
    method: "PUT",
    paths: clientPaths("/directory/list/appservice/:networkId/:roomId"),
    resource: "client",
    // An as_token (appservice_room_directory.yaml `security`); a user's token is refused in setNetworkVisibility.
    auth: "accessToken",
    schema: { type: "object", required: ["visibility"], properties: { visibility: { enum: ["public", "private"] } } },
    handler: async (req) => {
      await directory.setNetworkVisibility(requesterOf(req), req.params["networkId"] ?? "", req.params["roomId"] ?? "", req.body.visibility);
      return {};
    },
  };

  return [getVisibility, setVisibility, listPublic, queryPublic, setNetworkVisibility];
}
