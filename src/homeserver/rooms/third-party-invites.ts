// Third-party invites in the homeserver (client-server-api#third-party-invites,
// server-server-api#third-party-invites):
// - inviting by a 3PID (third_party_membership.yaml, createRoom's invite_3pid): the identity
//   server's lookup, then a normal invite of the bound user, or store-invite and an
//   m.room.third_party_invite event in the room;
// - redeeming one for a user of ours (the identity server's /3pid/onbind, a join with
//   third_party_signed): an m.room.member invite with content.third_party_invite, made here when
//   the inviter is one of ours and we are in the room, else by the inviter's server through
//   exchange_third_party_invite.
import { MatrixError } from "../../core/errors.ts";
import { canonicalEmail, isThreepidMedium } from "../../core/identifiers/threepid.ts";
import { parseRoomId, parseServerName, parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { Roomserver } from "../roomserver/index.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { MembershipService } from "./membership-service.ts";
import type { RemoteRooms } from "./remote-joiner.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";
import { askIdentityServer, type IdentityServerClient } from "../identity-servers/identity-server-client.ts";
import { parseSignedInvite, signingInviteKey, THIRD_PARTY_INVITE_TYPE } from "./third-party-invite-keys.ts";

/** What this area asks of identity servers (identity-servers/identity-server-client.ts); tests pass stand-ins. */
export type IdentityServers = Pick<IdentityServerClient, "lookup" | "storeInvite" | "isKeyValid">;

/** invite_3pid.yaml: where to look the invitee up, and the client's token there. */
export interface Invite3pid {
  readonly id_server: string;
  readonly id_access_token: string;
  readonly medium: string;
  readonly address: string;
}

export interface ThirdPartyInviteDeps {
  readonly serverName: string;
  readonly roomserver: Pick<Roomserver, "createLocalEvent">;
  readonly states: RoomStateReader;
  readonly membershipIndex: MembershipIndex;
  readonly membership: MembershipService;
  readonly identityServers: IdentityServers;
  readonly remote: () => RemoteRooms;
  /** Whether a user of ours exists: an onbind for anyone else is ignored. */
  readonly userExists: (userId: string) => Promise<boolean>;
  /** Throws 403 M_FORBIDDEN for a room a server admin blocked (room-blocks.ts). */
  readonly checkNotBlocked?: (roomId: string) => void;
  /** A shadow-banned user's invites seem sent and are not (users/shadow-bans.ts). */
  readonly shadowBanned?: (userId: string) => boolean;
  readonly onError?: (error: unknown, what: string) => void;
}

/** One pending invite of an onbind (third_party_invite.yaml), checked for shape. */
interface BoundInvite {
  readonly roomId: string;
  readonly sender: string;
  readonly mxid: string;
  readonly signed: JsonObject;
}

/** At most this many invites in one onbind: one identity server's pending invites of one 3PID. */
export const MAX_ONBIND_INVITES = 100;

export class ThirdPartyInviteService {
  readonly #deps: ThirdPartyInviteDeps;

  constructor(deps: ThirdPartyInviteDeps) {
    this.#deps = deps;
  }

  /** Checks an invite_3pid object before anything is done with it (also createRoom's, before the room exists). */
  static check(invite: Invite3pid): void {
    // invite_3pid.yaml: the id_server is "the hostname+port of the identity server".
    if (parseServerName(invite.id_server) === undefined) throw new MatrixError("M_INVALID_PARAM", "id_server is not a server name", 400);
    // appendices#3pid-types: email and msisdn are the media there are.
    if (!isThreepidMedium(invite.medium)) throw new MatrixError("M_INVALID_PARAM", `Unknown medium ${JSON.stringify(invite.medium)}`, 400);
    if (invite.address === "") throw new MatrixError("M_INVALID_PARAM", "address is empty", 400);
  }

  /** POST /rooms/{roomId}/invite with a 3PID (third_party_membership.yaml). */
  async invite(requester: Requester, roomId: string, invite: Invite3pid, options: { isDirect?: boolean } = {}): Promise<void> {
    ThirdPartyInviteService.check(invite);
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid room ID", 400);
    const inviter = requester.userId;
    // third_party_membership.yaml 403: "The inviter is not currently in the room", "The inviter's
    // power level is insufficient": found before the identity server hears of the invite.
    const state = await this.#deps.states.current(roomId);
    if (state === undefined || (await state.membershipOf(inviter)) !== "join") throw new MatrixError("M_FORBIDDEN", "You are not in this room", 403);
    if (!(await state.mayAct(inviter, "invite"))) throw new MatrixError("M_FORBIDDEN", "Your power level is too low to invite users to this room", 403);
    this.#deps.checkNotBlocked?.(roomId);
    if (this.#deps.shadowBanned?.(inviter) === true) return;
    const medium = invite.medium as "email" | "msisdn";
    // identity-service-api#lookup: addresses are looked up normalised (email lowercased).
    const address = medium === "email" ? canonicalEmail(invite.address) : invite.address;

    const bound = await askIdentityServer(() => this.#deps.identityServers.lookup(invite.id_server, invite.id_access_token, medium, address));
    if (bound !== undefined) {
      if (parseUserId(bound) === undefined) throw new MatrixError("M_UNKNOWN", `${invite.id_server} answered the lookup with a user ID that is not one`, 502);
      // "If the lookup yields a result for a Matrix User ID then the normal invite process can be initiated."
      await this.#deps.membership.invite(requester, roomId, bound, { isDirect: options.isDirect === true });
      return;
    }
    const details = await this.#storeInviteDetails(state, inviter);
    const stored = await askIdentityServer(() =>
      this.#deps.identityServers.storeInvite(invite.id_server, invite.id_access_token, { medium, address, room_id: roomId, sender: inviter, ...details }),
    );
    const first = stored.publicKeys[0];
    if (first === undefined) throw new MatrixError("M_UNKNOWN", `${invite.id_server} stored the invite without a public key`, 502);
    if (!/^[0-9a-zA-Z.=_-]{1,255}$/.test(stored.token)) throw new MatrixError("M_UNKNOWN", `${invite.id_server} answered a token of characters it may not use`, 502);
    // m.room.third_party_invite: state_key the token; public_key and key_validity_url the first key's
    // (the identity server's long-term one, v2_store_invite.yaml), public_keys every key.
    await this.#deps.roomserver.createLocalEvent({
      roomId,
      type: THIRD_PARTY_INVITE_TYPE,
      stateKey: stored.token,
      sender: inviter,
      content: {
        display_name: stored.displayName,
        key_validity_url: first.key_validity_url,
        public_key: first.public_key,
        public_keys: stored.publicKeys.map((k) => ({ public_key: k.public_key, key_validity_url: k.key_validity_url })),
      },
    });
  }

  /**
   * v2_store_invite.yaml's optional fields, "populated to the best of the server's ability": the
   * room's name, canonical alias, avatar, join rule and type, the inviter's display name and avatar.
   */
  async #storeInviteDetails(state: RoomState, inviter: string): Promise<JsonObject> {
    const out: JsonObject = {};
    const put = (key: string, value: string | undefined): void => {
      if (value !== undefined && value !== "") out[key] = value;
    };
    put("room_alias", await state.stringField("m.room.canonical_alias", "alias"));
    put("room_avatar_url", await state.stringField("m.room.avatar", "url"));
    put("room_join_rules", await state.stringField("m.room.join_rules", "join_rule"));
    put("room_name", await state.stringField("m.room.name", "name"));
    put("room_type", await state.stringField("m.room.create", "type"));
    const profile = await this.#deps.membership.profileFields(inviter);
    put("sender_display_name", typeof profile["displayname"] === "string" ? profile["displayname"] : undefined);
    put("sender_avatar_url", typeof profile["avatar_url"] === "string" ? profile["avatar_url"] : undefined);
    return out;
  }

  /**
   * POST /_matrix/federation/v1/3pid/onbind (third_party_invite.yaml). It comes from an identity
   * server, unauthenticated: every invite is checked for shape first (400 M_INVALID_PARAM for the
   * whole request), only those of our existing users are acted on, and the auth rules' check of
   * the identity server's signature decides. The first failure is answered once all were tried,
   * so that the identity server tries again; redeeming again what is redeemed changes nothing.
   */
  async onBind(body: { mxid: string; invites: readonly unknown[] }): Promise<void> {
    if (parseUserId(body.mxid) === undefined) throw new MatrixError("M_INVALID_PARAM", "mxid is not a user ID", 400);
    if (body.invites.length > MAX_ONBIND_INVITES) throw new MatrixError("M_INVALID_PARAM", `At most ${MAX_ONBIND_INVITES} invites at once`, 400);
    const invites = body.invites.map((invite, i) => parseBoundInvite(invite, i));
    let failure: unknown;
    for (const invite of invites) {
      // "Notifies the server that a third-party identifier has been bound to one of its users":
      // invites of anyone else's users, or of another user than the one bound, are not ours to act on.
      if (invite.mxid !== body.mxid || serverNameOf(invite.mxid) !== this.#deps.serverName) continue;
      if (!(await this.#deps.userExists(invite.mxid))) continue;
      try {
        await this.redeem(invite.mxid, invite.roomId, invite.sender, invite.signed);
      } catch (err) {
        this.#deps.onError?.(err, `redeeming the third-party invite of ${invite.mxid} to ${invite.roomId}`);
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Turns a third-party invite into an invite of `invitee` (one of ours) with
   * content.third_party_invite {display_name, signed}: sent here when the inviter is one of ours
   * and we are in the room, else asked of the inviter's server (exchange_third_party_invite).
   */
  async redeem(invitee: string, roomId: string, sender: string, signed: JsonObject): Promise<void> {
    const parsed = parseSignedInvite(signed);
    if ("error" in parsed) throw new MatrixError("M_INVALID_PARAM", parsed.error, 400);
    if (parsed.mxid !== invitee) throw new MatrixError("M_FORBIDDEN", "The third-party invite was signed for another user", 403);
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid room ID", 400);
    if (parseUserId(sender) === undefined) throw new MatrixError("M_INVALID_PARAM", "The inviter is not a user ID", 400);
    await this.#deps.membership.checkInvitable(invitee);
    const state = await this.#deps.states.current(roomId);
    const participating = state !== undefined && (await this.#deps.membershipIndex.serversInRoom(roomId)).includes(this.#deps.serverName);
    const current = state === undefined ? undefined : await state.membershipOf(invitee);
    // Redeemed already (an identity server trying again, a join after its onbind): nothing to do.
    if (participating && (current === "join" || (current === "invite" && (await this.#invitedByThirdParty(state, invitee, parsed.token))))) return;
    const invite = await state?.event(THIRD_PARTY_INVITE_TYPE, parsed.token);
    const displayName = invite?.content["display_name"];
    const thirdPartyInvite: JsonObject = { display_name: typeof displayName === "string" ? displayName : "", signed: parsed.signed };

    if (serverNameOf(sender) !== this.#deps.serverName) {
      // The invite's sender is another server's user. The spec lets a server in the room build the
      // invite itself ("it can auth the event and send it"); this one builds events of its own users
      // only, so the sender's server is asked, in the room or not (exchange_third_party_invite).
      const exchanger = this.#deps.remote().thirdPartyInvites;
      if (exchanger === undefined) throw new MatrixError("M_FORBIDDEN", "Third-party invites of other servers cannot be redeemed here", 403);
      await exchanger.exchange(roomId, {
        type: "m.room.member",
        room_id: roomId,
        sender,
        state_key: invitee,
        content: { membership: "invite", third_party_invite: thirdPartyInvite },
      });
      return;
    }
    if (!participating || state === undefined) throw new MatrixError("M_FORBIDDEN", "This server is not in the room of the third-party invite", 403);
    this.#deps.checkNotBlocked?.(roomId);
    // client-server-api#third-party-invites: the server taking the invite in MUST check that the key
    // is still valid, at the key_validity_url given. A signature matching no key is left to the auth rules.
    const key = invite === undefined ? undefined : signingInviteKey(invite.content, parsed.signed, state.version);
    if (key?.keyValidityUrl !== undefined) await checkKeyValid(this.#deps.identityServers, key.keyValidityUrl, key.publicKey);
    const content: JsonObject = { membership: "invite", third_party_invite: thirdPartyInvite, ...(await this.#deps.membership.profileFields(invitee)) };
    const { streamOrdering } = await this.#deps.roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: invitee, sender, content });
    // Read-your-writes: the invitee's next request (a join) reads the invite.
    if (streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(streamOrdering);
  }

  async #invitedByThirdParty(state: RoomState, userId: string, token: string): Promise<boolean> {
    const own = await state.content("m.room.member", userId);
    const thirdParty = own?.["third_party_invite"];
    const signed = isJsonObject(thirdParty) ? thirdParty["signed"] : undefined;
    return isJsonObject(signed) && signed["token"] === token;
  }
}

/** One invite of an onbind body, or 400 M_INVALID_PARAM naming what is wrong with it. */
function parseBoundInvite(value: unknown, index: number): BoundInvite {
  const bad = (what: string): MatrixError => new MatrixError("M_INVALID_PARAM", `invites[${index}]: ${what}`, 400);
  if (!isJsonObject(value)) throw bad("must be an object");
  const { room_id: roomId, sender, mxid } = value;
  if (typeof roomId !== "string" || parseRoomId(roomId) === undefined) throw bad("room_id must be a room ID");
  if (typeof sender !== "string" || parseUserId(sender) === undefined) throw bad("sender must be a user ID");
  if (typeof mxid !== "string" || parseUserId(mxid) === undefined) throw bad("mxid must be a user ID");
  const signed = parseSignedInvite(value["signed"]);
  if ("error" in signed) throw bad(signed.error);
  if (signed.mxid !== mxid) throw bad("signed.mxid is not the invite's mxid");
  return { roomId, sender, mxid, signed: signed.signed };
}

/** identity-service-api#key-management: 403 when the identity server says the key is no longer valid. */
export async function checkKeyValid(identityServers: Pick<IdentityServers, "isKeyValid">, keyValidityUrl: string, publicKey: string): Promise<void> {
  const valid = await askIdentityServer(() => identityServers.isKeyValid(keyValidityUrl, publicKey));
  if (!valid) throw new MatrixError("M_FORBIDDEN", "The identity server no longer holds the third-party invite's key valid", 403);
}
