// GET and POST /_matrix/federation/v1/publicRooms (server-server public_rooms.yaml): this
// server's published room directory, for another server's clients. "This SHOULD not return rooms
// that are listed on another homeserver's directory": only ours are listed, as for our clients,
// with the same third-party networks (include_all_networks, third_party_instance_id).
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint, MatrixRequest } from "../../../http/endpoint.ts";
import { publicRoomsQuery, type RoomDirectoryService } from "../../rooms/directory.ts";
import { directoryNetwork } from "../../rooms/directory-networks.ts";
import { originOf } from "./origin.ts";

/** GET's `limit` "Defaults to 0 (no limit)": the directory's largest page, then next_batch. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function single(req: MatrixRequest, name: string): string | undefined {
  const value = req.query[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `shared`: `allow_public_rooms_over_federation`. Off (Synapse's default, for privacy), other
 * servers are refused with 403 M_FORBIDDEN, as Synapse refuses them.
 */
export function federationPublicRoomsEndpoints(directory: RoomDirectoryService, shared: boolean): Endpoint[] {
  const checkShared = (req: MatrixRequest): void => {
    originOf(req);
    if (!shared) throw new MatrixError("M_FORBIDDEN", "This server does not share its room directory over federation", 403);
  };

  const list: Endpoint = {
    name: "federation.public_rooms",
    method: "GET",
    paths: ["/_matrix/federation/v1/publicRooms"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      checkShared(req);
      const raw = single(req, "limit");
      if (raw !== undefined && !/^\d{1,9}$/.test(raw)) throw new MatrixError("M_INVALID_PARAM", "limit must be a non-negative integer", 400);
      const limit = raw === undefined || Number(raw) === 0 ? NO_LIMIT : Number(raw);
      const network = directoryNetwork(single(req, "include_all_networks"), single(req, "third_party_instance_id"));
      return await directory.publicRooms(publicRoomsQuery(limit, single(req, "since"), undefined), network);
    },
  };

  const query: Endpoint<JsonObject> = {
    name: "federation.query_public_rooms",
    method: "POST",
    paths: ["/_matrix/federation/v1/publicRooms"],
    resource: "federation",
    auth: "federation",
    schema: {
      type: "object",
      properties: {
        limit: { type: "integer", minimum: 0 },
        since: { type: "string" },
        filter: {
          type: "object",
          properties: { generic_search_term: { type: "string" }, room_types: { type: "array", items: { type: ["string", "null"] } } },
        },
        include_all_networks: { type: "boolean" },
        third_party_instance_id: { type: "string" },
      },
    },
    handler: async (req) => {
      checkShared(req);
      const body = req.body;
      // The body's limit has no stated default: none is the directory's usual page, 0 is GET's "no limit".
      const limit = body["limit"] === 0 ? NO_LIMIT : body["limit"];
      const network = directoryNetwork(body["include_all_networks"], body["third_party_instance_id"]);
      return await directory.publicRooms(publicRoomsQuery(limit, body["since"], body["filter"]), network);
    },
  };

  return [list, query as Endpoint];
}
