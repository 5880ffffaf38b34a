// PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId} (third_party_invite.yaml), both
// ends. The invitee's server, told of a binding (/3pid/onbind), asks the inviter's server to make
// the invite; the inviter's server checks the request against the room's m.room.third_party_invite
// and the identity server's key, then invites as for any remote user (server-server-api
// #inviting-to-a-room) before answering.
import { stateMapKey } from "../../core/events/room-event.ts";
import { MatrixError } from "../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { parseSignedInvite, signingInviteKey, THIRD_PARTY_INVITE_TYPE } from "../rooms/third-party-invite-keys.ts";
import { asMatrixError, type FederationInvites } from "./invites.ts";
import type { RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";

export interface ThirdPartyExchangeOptions {
  readonly serverName: string;
  readonly reader: RoomReader;
  readonly rooms: RoomServers;
  readonly invites: Pick<FederationInvites, "invite">;
  readonly client: { put(destination: string, path: string, body: JsonObject): Promise<JsonObject> };
  /**
   * Whether the identity server still holds a key valid, asked at the key_validity_url as given
   * (client-server-api#third-party-invites); throws MatrixError when it cannot be asked.
   * Every key counts as valid when absent.
   */
  readonly checkKeyValid?: (keyValidityUrl: string, publicKey: string) => Promise<void>;
}

const enc = encodeURIComponent;

function invalid(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

export class ThirdPartyInviteExchange {
  readonly #o: ThirdPartyExchangeOptions;

  constructor(options: ThirdPartyExchangeOptions) {
    this.#o = options;
  }

  /** The invitee's end: asks the server of the invite's sender. Throws MatrixError with its answer. */
  async exchange(roomId: string, partialEvent: JsonObject): Promise<void> {
    const sender = partialEvent["sender"];
    const destination = typeof sender === "string" ? serverNameOf(sender) : undefined;
    if (destination === undefined) throw invalid("The third-party invite's sender is not a user ID");
    try {
      await this.#o.client.put(destination, `/_matrix/federation/v1/exchange_third_party_invite/${enc(roomId)}`, partialEvent);
    } catch (err) {
      throw asMatrixError(err);
    }
  }

  /**
   * The inviter's end: "The receiving server will verify the partial m.room.member event given in
   * the request body. If valid, the receiving server will issue an invite". The body is another
   * server's: each field is checked, the invite is made only for the asking server's own user,
   * sent by one of ours, matching the m.room.third_party_invite that user sent.
   */
  async receive(origin: string, roomId: string, body: JsonObject): Promise<void> {
    if (body["type"] !== "m.room.member") throw invalid("type must be m.room.member");
    // third_party_invite.yaml: room_id "Must match the ID given in the path".
    if (body["room_id"] !== roomId) throw invalid("room_id does not match the path");
    const sender = body["sender"];
    const invitee = body["state_key"];
    if (typeof sender !== "string" || parseUserId(sender) === undefined) throw invalid("sender must be a user ID");
    if (typeof invitee !== "string" || parseUserId(invitee) === undefined) throw invalid("state_key must be a user ID");
    const content = body["content"];
    if (!isJsonObject(content) || content["membership"] !== "invite") throw invalid("content.membership must be invite");
    const thirdPartyInvite = content["third_party_invite"];
    if (!isJsonObject(thirdPartyInvite)) throw invalid("content.third_party_invite must be an object");
    const parsed = parseSignedInvite(thirdPartyInvite["signed"]);
    if ("error" in parsed) throw invalid(`content.third_party_invite.${parsed.error}`);
    // v1-auth-rules 5.3.1.4: "If mxid does not match state_key, reject."
    if (parsed.mxid !== invitee) throw invalid("signed.mxid does not match state_key");
    // The invitee's server is the one told of the binding (/3pid/onbind): no other may ask for its user.
    if (serverNameOf(invitee) !== origin) throw new MatrixError("M_FORBIDDEN", "The invited user is not of your server", 403);
    // Invites are made here only as our own users.
    if (serverNameOf(sender) !== this.#o.serverName) throw new MatrixError("M_FORBIDDEN", "The third-party invite was not sent by a user of this server", 403);
    if (!(await this.#o.rooms.isAllowed(roomId, origin))) throw new MatrixError("M_FORBIDDEN", "The room's server ACL denies your server", 403);
    const version = await this.#o.reader.roomVersion(roomId);
    const state = await this.#o.reader.currentState(roomId);
    if (version === undefined || state === undefined || !(await this.#o.rooms.isServerInRoom(roomId, this.#o.serverName))) {
      throw new MatrixError("M_NOT_FOUND", "This server is not in the room", 404);
    }
    const inviteId = state.get(stateMapKey(THIRD_PARTY_INVITE_TYPE, parsed.token));
    const invite = inviteId === undefined ? undefined : (await this.#o.reader.event(inviteId))?.event;
    if (invite === undefined) throw new MatrixError("M_FORBIDDEN", "No third-party invite in the room has this token", 403);
    // v1-auth-rules 5.3.1.6: "If sender does not match sender of the m.room.third_party_invite, reject."
    if (invite.sender !== sender) throw new MatrixError("M_FORBIDDEN", "The third-party invite was sent by someone else", 403);
    // "H1 MUST verify the request from H3 to ensure the signed property is correct as well as the
    // key_validity_url as still being valid."
    const key = signingInviteKey(invite.content, parsed.signed, version);
    if (key === undefined) throw new MatrixError("M_FORBIDDEN", "No public key of the third-party invite signed it", 403);
    if (key.keyValidityUrl !== undefined) await this.#o.checkKeyValid?.(key.keyValidityUrl, key.publicKey);
    const displayName = invite.content["display_name"];
    // The display name is the room's, as the identity server gave it; not the asking server's.
    await this.#o.invites.invite(roomId, sender, invitee, {
      membership: "invite",
      third_party_invite: { display_name: typeof displayName === "string" ? displayName : "", signed: parsed.signed },
    });
  }
}
