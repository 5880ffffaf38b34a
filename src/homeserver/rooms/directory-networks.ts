// The third-party networks of the published room directory (list_public_rooms.yaml
// `include_all_networks`, `third_party_instance_id`; application-service-api#published-room-directories).
// An application service publishes rooms under one of its networks with
// PUT /directory/list/appservice/{networkId}/{roomId} (appservice_room_directory.yaml). Those rooms
// are listed for that network's third_party_instance_id, and not on the main list unless also
// published there the usual way; include_all_networks lists the main list and every network's.
// A network's instance ID names the service and the network, `${appservice ID}|${network ID}`, as
// Synapse makes them and as our /thirdparty/protocol answers hand them out (appservices/queries.ts).
import { MatrixError } from "../../core/errors.ts";
import type { JsonValue } from "../../core/json.ts";
import type { AppserviceRoomDirectoryStore } from "../../storage/stores/appservice-room-directory.ts";

export interface DirectoryNetwork {
  /** `include_all_networks`: the main list and every network's. */
  readonly includeAllNetworks: boolean;
  /** `third_party_instance_id`: one network's list; "Can only be used if include_all_networks is false". */
  readonly thirdPartyInstanceId: string | undefined;
}

/** Neither option: this server's own list (the rooms published with PUT /directory/list/room/{roomId}). */
export const MAIN_LIST: DirectoryNetwork = { includeAllNetworks: false, thirdPartyInstanceId: undefined };

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

/** The instance ID of a service's network (protocols.yaml `instance_id`). */
export function thirdPartyInstanceId(appserviceId: string, networkId: string): string {
  return `${appserviceId}|${networkId}`;
}

/**
 * The service and network an instance ID names: split at the first "|" (a network ID, from a
 * request path, may hold one). Undefined for an ID that is not one of ours: no network, so an empty list.
 */
function parseThirdPartyInstanceId(instanceId: string): { appserviceId: string; networkId: string } | undefined {
  const bar = instanceId.indexOf("|");
  if (bar <= 0) return undefined;
  return { appserviceId: instanceId.slice(0, bar), networkId: instanceId.slice(bar + 1) };
}

/**
 * The rooms a directory lists, before their summaries, filters and paging: `mainList` is the main
 * list's. Only the networks of the services registered now are listed: the rooms a service published
 * are kept while its registration file is gone (it may come back), not shown.
 */
export async function listedRoomIds(
  network: DirectoryNetwork,
  mainList: () => Promise<string[]>,
  networks: AppserviceRoomDirectoryStore,
  registered: readonly string[],
): Promise<string[]> {
  if (network.includeAllNetworks) return [...new Set([...(await mainList()), ...(await networks.publishedOnAnyNetwork(registered))])];
  if (network.thirdPartyInstanceId === undefined) return await mainList();
  const parsed = parseThirdPartyInstanceId(network.thirdPartyInstanceId);
  return parsed === undefined || !registered.includes(parsed.appserviceId) ? [] : await networks.published(parsed.appserviceId, parsed.networkId);
}
