// Room membership (client-server-api#room-membership: joining, knocking, restricted rooms, leaving,
// banning; inviting.yaml, joining.yaml, knocking.yaml, leaving.yaml, kicking.yaml, banning.yaml).
// Every change is an m.room.member event through the roomserver, whose authorization rules have
// the last word (M_FORBIDDEN). Rooms this server is not in go through the federation seams.
// After each event the membership index is waited for, so that the next request reads its effect.
import { MatrixError } from "../../core/errors.ts";
import { parseRoomId, parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { Roomserver } from "../roomserver/index.ts";
import type { AliasService } from "./aliases.ts";
import { inviteBlockedError, type InvitesBlocked } from "./invite-permission.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { RemoteRooms } from "./remote-joiner.ts";
import { restrictedJoin } from "./restricted-joins.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";
import type { SettingsTransfer } from "./upgrade-settings.ts";

/** Reads a user's profile (ProfileService; another server's user's over federation); throws MatrixError for users without one. */
export interface ProfileLookup {
  getProfile(userId: string): Promise<JsonObject>;
}

export interface MembershipServiceDeps {
  readonly serverName: string;
  readonly roomserver: Roomserver;
  readonly states: RoomStateReader;
  readonly membershipIndex: MembershipIndex;
  readonly aliases: AliasService;
  readonly profiles: ProfileLookup;
  readonly remote: () => RemoteRooms;
  /** Whether a user of ours blocks invites (modules/invite_permission.md); nobody does when absent. */
  readonly invitesBlocked?: InvitesBlocked;
  /** Copies a user's settings from a room's predecessor when they join it (modules/room_upgrades.md); none when absent. */
  readonly transferSettings?: SettingsTransfer;
  /** Throws 403 M_FORBIDDEN for a room a server admin blocked (room-blocks.ts); none is when absent. */
  readonly checkNotBlocked?: (roomId: string) => void;
  /** Whether a server admin shadow-banned the user (users/shadow-bans.ts): their invites seem sent and are not. */
  readonly shadowBanned?: (userId: string) => boolean;
  /** Whether the room is the user's server notices room (rooms/server-notices.ts); none is when absent. */
  readonly isServerNoticeRoom?: (userId: string, roomId: string) => Promise<boolean>;
  /** Whether a user of ours is a guest (modules/guest_access.md); nobody is when absent. */
  readonly isGuest?: (userId: string) => Promise<boolean>;
  readonly onError?: (error: unknown, what: string) => void;
}

export interface JoinRequest {
  /** Servers to try for a room this server is not in (the `via` and `server_name` parameters). */
  readonly via?: readonly string[];
  readonly reason?: string | undefined;
  /** joining.yaml: the signed third-party invite this join redeems. */
  readonly thirdPartySigned?: JsonObject | undefined;
}

type ModerationAction = "kick" | "ban" | "unban";

export interface InviteOptions {
  readonly reason?: string | undefined;
  readonly isDirect?: boolean;
  /** The server's own invite (to a server notices room): the invitee's blocking of invites does not apply. */
  readonly fromServer?: boolean;
}

export class MembershipService {
  readonly #deps: MembershipServiceDeps;

  constructor(deps: MembershipServiceDeps) {
    this.#deps = deps;
  }

  /** POST /join/{roomIdOrAlias} and /rooms/{roomId}/join. */
  async join(requester: Requester, roomIdOrAlias: string, request: JoinRequest = {}): Promise<{ roomId: string }> {
    const joined = await this.#join(requester, roomIdOrAlias, request);
    await this.copySettingsFromPredecessor(requester.userId, joined.roomId);
    return joined;
  }

  async #join(requester: Requester, roomIdOrAlias: string, request: JoinRequest): Promise<{ roomId: string }> {
    const userId = requester.userId;
    const { roomId, servers } = await this.resolveTarget(roomIdOrAlias, request.via ?? []);
    this.#deps.checkNotBlocked?.(roomId);
    const state = await this.#deps.states.current(roomId);
    const content = await this.#withProfile(userId, { membership: "join" }, request.reason);
    if (state === undefined || !(await this.#participating(roomId))) {
      const joiner = this.#deps.remote().joiner;
      // A room unknown here may still be joined through the server that invited us (a room ID of
      // version 12 names no server).
      if (joiner !== undefined && (state === undefined || servers.some((s) => s !== this.#deps.serverName))) {
        return await this.#remoteJoin(userId, roomId, servers, content);
      }
      if (state === undefined) throw new MatrixError("M_NOT_FOUND", "No known servers for this room", 404);
    }

    const membership = await state.membershipOf(userId);
    if (membership === "join") return { roomId };
    if (membership === "ban") throw new MatrixError("M_FORBIDDEN", "You are banned from this room", 403);
    // modules/guest_access.md: guests join only rooms whose m.room.guest_access is can_join.
    if (requester.isGuest && (await state.stringField("m.room.guest_access", "guest_access")) !== "can_join") {
      throw new MatrixError("M_FORBIDDEN", "Guest access is not allowed in this room", 403);
    }
    if (request.thirdPartySigned !== undefined) content["third_party_invite"] = await thirdPartyInvite(state, request.thirdPartySigned);

    const restricted = await restrictedJoin(state, userId, this.#deps.serverName, this.#deps.membershipIndex);
    if (restricted.kind === "not_allowed") {
      throw new MatrixError("M_FORBIDDEN", "You do not meet the conditions to join this restricted room", 403);
    }
    if (restricted.kind === "needs_remote") {
      const others = (await this.#deps.membershipIndex.serversInRoom(roomId)).filter((s) => s !== this.#deps.serverName);
      if (this.#deps.remote().joiner === undefined || others.length === 0) {
        throw new MatrixError("M_FORBIDDEN", "No member of this server may authorise your join", 403);
      }
      return await this.#remoteJoin(userId, roomId, others, content);
    }
    if (restricted.kind === "authorised") content["join_authorised_via_users_server"] = restricted.authoriser;
    await this.#send(roomId, userId, userId, content);
    return { roomId };
  }

  /** POST /knock/{roomIdOrAlias} (client-server-api#knocking-on-rooms). */
  async knock(requester: Requester, roomIdOrAlias: string, request: { via?: readonly string[]; reason?: string | undefined }): Promise<{ roomId: string }> {
    const userId = requester.userId;
    const { roomId, servers } = await this.resolveTarget(roomIdOrAlias, request.via ?? []);
    this.#deps.checkNotBlocked?.(roomId);
    const content = await this.#withProfile(userId, { membership: "knock" }, request.reason);
    const state = await this.#deps.states.current(roomId);
    if (state === undefined || !(await this.#participating(roomId))) {
      const knocker = this.#deps.remote().knocker;
      if (knocker !== undefined && servers.some((s) => s !== this.#deps.serverName)) {
        const knocked = await knocker.knock(userId, roomId, servers.filter((s) => s !== this.#deps.serverName), content);
        // As for remote joins: the next request reads the knock (/sync rooms.knock).
        if (knocked.streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(knocked.streamOrdering);
        return { roomId: knocked.roomId };
      }
      if (state === undefined) throw new MatrixError("M_NOT_FOUND", "No known servers for this room", 404);
    }
    const membership = await state.membershipOf(userId);
    // "Users who are currently in the room, already invited, or banned cannot knock on the room."
    if (membership === "join" || membership === "invite" || membership === "ban") {
      throw new MatrixError("M_FORBIDDEN", `You cannot knock while your membership is ${membership}`, 403);
    }
    await this.#send(roomId, userId, userId, content);
    return { roomId };
  }

  /** POST /rooms/{roomId}/invite (inviting.yaml). */
  async invite(requester: Requester, roomId: string, invitee: string, options: InviteOptions = {}): Promise<void> {
    this.#checkRoomId(roomId);
    this.#checkUserId(invitee);
    const state = await this.#stateForMember(roomId, requester.userId);
    const current = await state.membershipOf(invitee);
    if (current === "join") throw new MatrixError("M_FORBIDDEN", `${invitee} is already in the room`, 403);
    if (current === "ban") throw new MatrixError("M_FORBIDDEN", `${invitee} is banned from the room`, 403);
    if (options.fromServer !== true) await this.checkInvitable(invitee);
    if (this.#deps.shadowBanned?.(requester.userId) === true) return;
    const content: JsonObject = { membership: "invite" };
    if (options.reason !== undefined) content["reason"] = options.reason;
    if (options.isDirect === true) content["is_direct"] = true;
    const local = serverNameOf(invitee) === this.#deps.serverName;
    if (local) this.#deps.checkNotBlocked?.(roomId);
    // An invitee of another server gets their profile too when their server tells it (best effort, as Synapse).
    Object.assign(content, await this.profileFields(invitee));
    const inviter = this.#deps.remote().inviter;
    if (!local && inviter !== undefined) {
      await inviter.invite({ roomId, sender: requester.userId, invitee, content });
      return;
    }
    await this.#send(roomId, requester.userId, invitee, content);
  }

  /** modules/invite_permission.md: 403 M_INVITE_BLOCKED when the user (one of ours) blocks invites. */
  async checkInvitable(invitee: string): Promise<void> {
    if ((await this.#deps.invitesBlocked?.(invitee)) === true) throw inviteBlockedError(invitee);
  }

  /** POST /rooms/{roomId}/leave: leaves, rejects an invite or retracts a knock. */
  async leave(requester: Requester, roomId: string, reason?: string): Promise<void> {
    this.#checkRoomId(roomId);
    const userId = requester.userId;
    const content: JsonObject = { membership: "leave" };
    if (reason !== undefined) content["reason"] = reason;
    const state = await this.#deps.states.current(roomId);
    // An invite to (or knock on) a room this server is not in, or no longer takes part in (its state
    // here is stale): rejected through a server in the room.
    const pending = async (): Promise<boolean> => {
      const own = await this.#deps.membershipIndex.membershipOf(userId, roomId);
      return (own === "invite" || own === "knock") && !(await this.#participating(roomId));
    };
    const leaver = this.#deps.remote().leaver;
    // The leaver also tries the server that sent the invite (a room ID of version 12 names none).
    const server = serverNameOf(roomId);
    // A room unknown here, named by no other server, and no invite or knock of the user's to it: no
    // server to ask, nothing to leave.
    const noOneToAsk = server === undefined || server === this.#deps.serverName;
    if (state === undefined && noOneToAsk && (await this.#deps.membershipIndex.membershipOf(userId, roomId)) === undefined) {
      throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
    }
    if (state === undefined || (leaver !== undefined && (await pending()))) {
      if (leaver === undefined) throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
      const placed = await leaver.leave(userId, roomId, noOneToAsk ? [] : [server], content);
      if (placed?.streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(placed.streamOrdering);
      return;
    }
    const membership = await state.membershipOf(userId);
    if (membership === undefined || membership === "ban") throw new MatrixError("M_FORBIDDEN", "You are not in this room", 403);
    // Leaving again changes nothing: no new event.
    if (membership === "leave") return;
    // modules/server_notices.md: "Attempting to reject the invite must result in a M_CANNOT_LEAVE_SERVER_NOTICE_ROOM error."
    // Leaving once joined is let be ("Servers should not prevent the user leaving the room after joining").
    if (membership === "invite" && (await this.#deps.isServerNoticeRoom?.(userId, roomId)) === true) {
      throw new MatrixError("M_CANNOT_LEAVE_SERVER_NOTICE_ROOM", "You cannot reject the invite to your server notices room", 403);
    }
    await this.#send(roomId, userId, userId, content);
  }

  /** POST /rooms/{roomId}/kick, /ban and /unban (kicking.yaml, banning.yaml). */
  async moderate(requester: Requester, action: ModerationAction, roomId: string, target: string, reason?: string): Promise<void> {
    this.#checkRoomId(roomId);
    this.#checkUserId(target);
    const state = await this.#stateForMember(roomId, requester.userId);
    const current = await state.membershipOf(target);
    if (action === "kick" && current !== "join" && current !== "invite" && current !== "knock") {
      throw new MatrixError("M_FORBIDDEN", `${target} is not in the room`, 403);
    }
    // banning.yaml (unban): the user must be banned first; unbanning leaves them "leave".
    if (action === "unban" && current !== "ban") throw new MatrixError("M_FORBIDDEN", `${target} is not banned`, 403);
    const content: JsonObject = { membership: action === "ban" ? "ban" : "leave" };
    if (reason !== undefined) content["reason"] = reason;
    await this.#send(roomId, requester.userId, target, content);
  }

  /** POST /rooms/{roomId}/forget (leaving.yaml): only once the user is no longer joined. */
  async forget(requester: Requester, roomId: string): Promise<void> {
    this.#checkRoomId(roomId);
    const membership = await this.#deps.membershipIndex.membershipOf(requester.userId, roomId);
    if (membership === "join") throw new MatrixError("M_UNKNOWN", "You must leave the room before forgetting it", 400);
    // Never a member: nothing to forget.
    if (membership === undefined) return;
    await this.#deps.membershipIndex.forget(requester.userId, roomId);
  }

  /** GET /joined_rooms. */
  async joinedRooms(userId: string): Promise<string[]> {
    return (await this.#deps.membershipIndex.roomsForUser(userId, ["join"])).map((r) => r.roomId);
  }

  /**
   * client-server-api#events-on-change-of-profile-information: a new displayname or avatar_url
   * becomes a new m.room.member event in every room the user is joined to.
   */
  async propagateProfile(userId: string, key: string, profile: JsonObject): Promise<void> {
    if (key !== "displayname" && key !== "avatar_url") return;
    // A join the room engine has just put out (one made over federation, say) counts as one of the user's rooms.
    const index = this.#deps.membershipIndex;
    await index.waitUntil(index.position);
    for (const { roomId } of await index.roomsForUser(userId, ["join"])) {
      try {
        const state = await this.#deps.states.current(roomId);
        const own = await state?.content("m.room.member", userId);
        if (own?.["membership"] !== "join") continue;
        const content: JsonObject = { ...own };
        // A fresh join of a joined member needs no authoriser, and its old reason does not apply.
        delete content["join_authorised_via_users_server"];
        delete content["reason"];
        for (const field of ["displayname", "avatar_url"]) {
          const value = profile[field];
          if (typeof value === "string") content[field] = value;
          else delete content[field];
        }
        await this.#send(roomId, userId, userId, content);
      } catch (err) {
        this.#deps.onError?.(err, `updating ${userId}'s member event in ${roomId}`);
      }
    }
  }

  /** modules/room_upgrades.md: a user joining a room that replaces another gets their settings of the old one. */
  async copySettingsFromPredecessor(userId: string, roomId: string): Promise<void> {
    const transfer = this.#deps.transferSettings;
    if (transfer === undefined) return;
    try {
      const predecessor = (await (await this.#deps.states.current(roomId))?.content("m.room.create"))?.["predecessor"];
      const from = isJsonObject(predecessor) ? predecessor["room_id"] : undefined;
      if (typeof from === "string") await transfer(userId, from, roomId);
    } catch (err) {
      // The join (or the creation) is made: settings that could not be copied do not undo it.
      this.#deps.onError?.(err, `copying ${userId}'s settings into ${roomId}`);
    }
  }

  /**
   * modules/guest_access.md "Server behaviour": once the room's m.room.guest_access is no longer
   * can_join, the server MUST set its guests' membership to leave (each guest leaves, as a leave
   * of one's own needs no power).
   */
  async removeGuests(roomId: string): Promise<void> {
    const isGuest = this.#deps.isGuest;
    const state = await this.#deps.states.current(roomId);
    if (isGuest === undefined || state === undefined) return;
    if ((await state.stringField("m.room.guest_access", "guest_access")) === "can_join") return;
    for (const userId of await this.#deps.membershipIndex.joinedMembers(roomId)) {
      if (serverNameOf(userId) !== this.#deps.serverName || !(await isGuest(userId))) continue;
      try {
        await this.#send(roomId, userId, userId, { membership: "leave" });
      } catch (err) {
        this.#deps.onError?.(err, `removing guest ${userId} from ${roomId}`);
      }
    }
  }

  async #send(roomId: string, sender: string, target: string, content: JsonObject): Promise<string> {
    const { eventId, streamOrdering } = await this.#deps.roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: target, sender, content });
    if (streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(streamOrdering);
    return eventId;
  }

  async #remoteJoin(userId: string, roomId: string, servers: readonly string[], content: JsonObject): Promise<{ roomId: string }> {
    const joiner = this.#deps.remote().joiner;
    if (joiner === undefined) throw new MatrixError("M_NOT_FOUND", "No known servers for this room", 404);
    const joined = await joiner.join(userId, roomId, servers.filter((s) => s !== this.#deps.serverName), content);
    // As for local joins: the next request reads the join (GET /joined_rooms, /sync).
    if (joined.streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(joined.streamOrdering);
    return { roomId: joined.roomId };
  }

  /** The room of a room ID or alias, and the servers that may help reach it (`via` first). */
  async resolveTarget(roomIdOrAlias: string, via: readonly string[]): Promise<{ roomId: string; servers: string[] }> {
    if (roomIdOrAlias.startsWith("#")) {
      const resolved = await this.#deps.aliases.resolve(roomIdOrAlias);
      return { roomId: resolved.roomId, servers: unique([...via, ...resolved.servers]) };
    }
    this.#checkRoomId(roomIdOrAlias);
    const server = serverNameOf(roomIdOrAlias);
    return { roomId: roomIdOrAlias, servers: unique([...via, ...(server === undefined ? [] : [server])]) };
  }

  /** Whether this server takes part in the room: one of our users is joined, or nobody is. */
  async #participating(roomId: string): Promise<boolean> {
    const servers = await this.#deps.membershipIndex.serversInRoom(roomId);
    return servers.length === 0 || servers.includes(this.#deps.serverName);
  }

  /** The current state of a room the requester must be joined to. */
  async #stateForMember(roomId: string, userId: string): Promise<RoomState> {
    const state = await this.#deps.states.current(roomId);
    if (state === undefined || (await state.membershipOf(userId)) !== "join") {
      throw new MatrixError("M_FORBIDDEN", "You are not in this room", 403);
    }
    return state;
  }

  async #withProfile(userId: string, content: JsonObject, reason: string | undefined): Promise<JsonObject> {
    const out: JsonObject = { ...content, ...(await this.profileFields(userId)) };
    if (reason !== undefined) out["reason"] = reason;
    return out;
  }

  /** displayname and avatar_url of a user's profile, copied into their member events; none when it cannot be had. */
  async profileFields(userId: string): Promise<JsonObject> {
    let profile: JsonObject;
    try {
      profile = await this.#deps.profiles.getProfile(userId);
    } catch (err) {
      if (err instanceof MatrixError) return {};
      throw err;
    }
    const out: JsonObject = {};
    for (const field of ["displayname", "avatar_url"]) {
      const value = profile[field];
      if (typeof value === "string") out[field] = value;
    }
    return out;
  }

  #checkRoomId(roomId: string): void {
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid room ID or alias", 400);
  }

  #checkUserId(userId: string): void {
    if (parseUserId(userId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid user ID", 400);
  }
}

/** The m.room.member `third_party_invite` of a join that redeems one (client-server-api#third-party-invites). */
async function thirdPartyInvite(state: RoomState, signed: JsonObject): Promise<JsonObject> {
  const token = signed["token"];
  const invite = typeof token === "string" ? await state.content("m.room.third_party_invite", token) : undefined;
  if (invite === undefined) throw new MatrixError("M_FORBIDDEN", "No third-party invite matches this token", 403);
  const out: JsonObject = { signed };
  const displayName = invite["display_name"];
  if (typeof displayName === "string") out["display_name"] = displayName;
  return out;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
