// Seams to the federation side (server-server-api "Joining Rooms", "Inviting to a room",
// "Knocking upon a room", "Leaving Rooms (Rejecting Invites)", "Querying for information"): what the
// membership and alias services ask of another server when the room is not here. The federation
// area implements them; without them, rooms elsewhere are simply not found.
import type { JsonObject } from "../../core/json.ts";

/**
 * Where a membership taken here entered the room stream: the caller waits for the membership
 * index to apply it, so that the user's next request (say GET /joined_rooms) reads its effect.
 */
export interface PlacedMembership {
  readonly streamOrdering?: number | undefined;
}

/** Joins a local user to a room this server is not in (make_join / send_join through one of `viaServers`). */
export interface RemoteJoiner {
  join(userId: string, roomIdOrAlias: string, viaServers: readonly string[], content: JsonObject): Promise<{ roomId: string } & PlacedMembership>;
}

/** Knocks on a room this server is not in (make_knock / send_knock). */
export interface RemoteKnocker {
  knock(userId: string, roomIdOrAlias: string, viaServers: readonly string[], content: JsonObject): Promise<{ roomId: string } & PlacedMembership>;
}

/**
 * Invites a user of another server: the invite event is built here, signed by the invitee's server
 * (PUT /_matrix/federation/v2/invite) and then sent into the room.
 */
export interface RemoteInviter {
  invite(request: { roomId: string; sender: string; invitee: string; content: JsonObject }): Promise<{ eventId: string }>;
}

/** Rejects an invite (or retracts a knock) to a room this server is not in (make_leave / send_leave). */
export interface RemoteLeaver {
  leave(userId: string, roomId: string, viaServers: readonly string[], content: JsonObject): Promise<void | PlacedMembership>;
}

/**
 * Asks the server of a third-party invite's sender to turn it into an invite of one of our users
 * (PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}, third_party_invite.yaml), with
 * the partial m.room.member event the spec gives.
 */
export interface RemoteThirdPartyInviteExchanger {
  exchange(roomId: string, partialEvent: JsonObject): Promise<void>;
}

/** Resolves an alias of another server (GET /_matrix/federation/v1/query/directory). */
export interface RemoteAliasResolver {
  resolveAlias(roomAlias: string): Promise<{ roomId: string; servers: string[] } | undefined>;
}

/** Another server's published room directory (GET/POST /_matrix/federation/v1/publicRooms). */
export interface RemoteDirectory {
  publicRooms(
    server: string,
    request: {
      limit?: number | undefined;
      since?: string | undefined;
      genericSearchTerm?: string | undefined;
      roomTypes?: ReadonlyArray<string | null> | undefined;
      includeAllNetworks?: boolean | undefined;
      thirdPartyInstanceId?: string | undefined;
    },
  ): Promise<JsonObject>;
}

/** The seams, each optional: the composition root passes what the federation area provides. */
export interface RemoteRooms {
  readonly joiner?: RemoteJoiner;
  readonly knocker?: RemoteKnocker;
  readonly inviter?: RemoteInviter;
  readonly leaver?: RemoteLeaver;
  readonly aliases?: RemoteAliasResolver;
  readonly directory?: RemoteDirectory;
  readonly thirdPartyInvites?: RemoteThirdPartyInviteExchanger;
}
