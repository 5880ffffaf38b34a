// Queries (server-server-api#querying-for-information, query.yaml): a local user's profile and
// the room a local alias names with the servers in it.
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomServers } from "./room-servers.ts";

export interface FederationQueriesOptions {
  readonly serverName: string;
  /** A local user's full public profile; throws MatrixError M_NOT_FOUND for unknown users. */
  readonly getProfile: (userId: string) => Promise<JsonObject>;
  /** The room a local alias names, if any. */
  readonly lookupLocalAlias?: (alias: string) => Promise<{ roomId: string; servers?: readonly string[] } | undefined>;
  readonly rooms: RoomServers;
}

export class FederationQueries {
  readonly #o: FederationQueriesOptions;

  constructor(options: FederationQueriesOptions) {
    this.#o = options;
  }

  /** query.yaml /query/profile: "If a field is specified ... the response MUST only include the specified field". */
  async profile(userId: string, field: string | undefined): Promise<JsonObject> {
    if (parseUserId(userId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid user ID", 400);
    // "MUST be a user local to the receiving homeserver."
    if (serverNameOf(userId) !== this.#o.serverName) throw new MatrixError("M_INVALID_PARAM", "The user is not of this server", 400);
    const profile = await this.#o.getProfile(userId);
    if (field === undefined) return profile;
    const value = profile[field];
    if (value === undefined || value === null) throw new MatrixError("M_NOT_FOUND", "The user has no such profile field", 404);
    return { [field]: value };
  }

  /** query.yaml /query/directory: the room ID and "An array of server names that are likely to hold the given room". */
  async directory(roomAlias: string): Promise<JsonObject> {
    const alias = parseRoomAlias(roomAlias);
    if (alias === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid room alias", 400);
    if (serverNameOf(alias) !== this.#o.serverName) throw new MatrixError("M_NOT_FOUND", "Room alias not found", 404);
    const found = await this.#o.lookupLocalAlias?.(alias);
    if (found === undefined) throw new MatrixError("M_NOT_FOUND", "Room alias not found", 404);
    const inRoom = await this.#o.rooms.serversInRoom(found.roomId);
    // Ourselves first: we hold the alias, and likely the room.
    const servers = [...new Set([this.#o.serverName, ...(found.servers ?? []), ...inRoom])];
    return { room_id: found.roomId, servers };
  }
}
