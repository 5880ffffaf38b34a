// The third-party networks of the published room directory (list_public_rooms.yaml
// `include_all_networks`, `third_party_instance_id`): rooms an application service publishes
// under one of its networks are listed for that network only. This server hosts no application
// service networks, so every published room is on the main list, and a network's list is empty.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import { publicRoomsQuery, type PublicRoomsQuery, type RoomDirectoryService } from "./directory.ts";

export interface DirectoryNetwork {
  /** `include_all_networks`: the main list and every network's. */
  readonly includeAllNetworks: boolean;
  /** `third_party_instance_id`: one network's list; "Can only be used if include_all_networks is false". */
  readonly thirdPartyInstanceId: string | undefined;
}

/** The network options of a request body (POST) or query (GET, where they are strings). */
export function directoryNetwork(includeAllNetworks: JsonValue | undefined, thirdPartyInstanceId: JsonValue | undefined): DirectoryNetwork {
  let all = false;
  if (includeAllNetworks === true || includeAllNetworks === "true") all = true;
  else if (includeAllNetworks !== undefined && includeAllNetworks !== false && includeAllNetworks !== "false") {
    throw new MatrixError("M_INVALID_PARAM", "include_all_networks must be a boolean", 400);
  }
  if (thirdPartyInstanceId !== undefined && (typeof thirdPartyInstanceId !== "string" || thirdPartyInstanceId === "")) {
    throw new MatrixError("M_INVALID_PARAM", "third_party_instance_id must be a non-empty string", 400);
  }
  return { includeAllNetworks: all, thirdPartyInstanceId: all ? undefined : thirdPartyInstanceId };
}

/** This server's directory for a network: the main list, or a network's (empty: none are hosted here). */
export async function localPublicRooms(directory: RoomDirectoryService, query: PublicRoomsQuery, network: DirectoryNetwork): Promise<JsonObject> {
  if (network.thirdPartyInstanceId !== undefined) {
    // Still check the rest of the request, as for the main list.
    publicRoomsQuery(query.limit, query.since, undefined);
    return { chunk: [], total_room_count_estimate: 0 };
  }
  return await directory.publicRooms(query);
}
