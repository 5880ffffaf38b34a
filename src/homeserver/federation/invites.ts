// Invites across servers (server-server-api#inviting-to-a-room):
// - receiving: another server asks us to co-sign its invite of one of our users (invite v1 and
//   v2, with the validation the spec asks for). An invite to a room we are not in is kept with
//   the room state it came with, for our user to see and answer (join or reject through the
//   inviting server); in a room we are in, the invite also arrives in a transaction.
// - sending: we build the invite of a remote user, its server signs it, and only then it enters
//   the room through the pipeline and goes to the room's servers.
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { checkContentHash } from "../../core/events/hashes.ts";
import { stateMapKey, type Pdu, type RoomEvent } from "../../core/events/room-event.ts";
import { MatrixError } from "../../core/errors.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { getRoomVersion, type RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { FederationInviteStore, ReceivedInvite } from "../../storage/stores/federation-invites.ts";
import type { Roomserver } from "../roomserver/index.ts";
import type { InputResult } from "../roomserver/types.ts";
import { FederationRequestError } from "./client.ts";
import { addSignature, completeEvent, type EventTemplates } from "./event-template.ts";
import { isSignedBy, isSignedByRequiredServers } from "./event-signatures.ts";
import { parsePdu } from "./remote-events.ts";
import type { VerifyKeySource } from "./request-auth.ts";
import type { RoomServers } from "./room-servers.ts";
import type { FederationSender } from "./sender.ts";

export interface InviteClient {
  put(destination: string, path: string, body: JsonObject): Promise<JsonObject>;
  requestJson(method: "PUT", destination: string, path: string, body: JsonObject): Promise<unknown>;
}

export type InviteListener = (invite: ReceivedInvite) => void;
/** An invite is gone: answered, or retracted by the room (a leave or ban of the invitee). */
export type InviteGoneListener = (roomId: string, userId: string) => void;

export interface InvitesOptions {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly keys: VerifyKeySource;
  readonly roomserver: Pick<Roomserver, "input" | "signOwn">;
  readonly rooms: RoomServers;
  readonly templates: EventTemplates;
  readonly sender: Pick<FederationSender, "queuePdu">;
  readonly store: FederationInviteStore;
  readonly client: InviteClient;
  /** Whether a user of ours exists (an invite to anyone else is refused). */
  readonly userExists?: (userId: string) => Promise<boolean>;
  /** modules/invite_permission.md: throws 403 M_INVITE_BLOCKED for a user of ours who blocks invites. */
  readonly checkInvitable?: (userId: string) => Promise<void>;
  /** Throws 403 M_FORBIDDEN for a room a server admin blocked (rooms/room-blocks.ts). */
  readonly checkNotBlocked?: (roomId: string) => void;
  readonly now?: () => number;
  readonly onListenerError?: (err: unknown) => void;
}

function invalid(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

const enc = encodeURIComponent;

export class FederationInvites {
  readonly #o: InvitesOptions;
  readonly #listeners = new Set<InviteListener>();
  readonly #goneListeners = new Set<InviteGoneListener>();

  constructor(options: InvitesOptions) {
    this.#o = options;
  }

  /** Hears the invites received for our users to rooms we are not in. Returns the unsubscribe. */
  onInvite(listener: InviteListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hears invites that are gone (answered, or retracted). Returns the unsubscribe. */
  onInviteGone(listener: InviteGoneListener): () => void {
    this.#goneListeners.add(listener);
    return () => this.#goneListeners.delete(listener);
  }

  /** A user's pending invites to rooms we are not in. */
  pendingFor(userId: string): Promise<ReceivedInvite[]> {
    return this.#o.store.forUser(userId);
  }

  pending(roomId: string, userId: string): Promise<ReceivedInvite | undefined> {
    return this.#o.store.get(roomId, userId);
  }

  /** The invite is answered (joined, rejected) or replaced by a later membership. */
  async forget(roomId: string, userId: string): Promise<void> {
    if ((await this.#o.store.get(roomId, userId)) === undefined) return;
    await this.#o.store.remove(roomId, userId);
    for (const listener of this.#goneListeners) {
      try {
        listener(roomId, userId);
      } catch (err) {
        this.#o.onListenerError?.(err);
      }
    }
  }

  /**
   * PDUs of a room we are not in: the room may be retracting an invite of one of our users, or
   * rejecting their knock (a leave or ban of the member, signed by its sender's server), the one
   * thing we act on there.
   */
  async retractedInvites(origin: string, roomId: string, pdus: readonly unknown[]): Promise<void> {
    for (const pdu of pdus) {
      if (!isJsonObject(pdu) || pdu["type"] !== "m.room.member" || typeof pdu["state_key"] !== "string" || !isJsonObject(pdu["content"])) continue;
      const membership = pdu["content"]["membership"];
      if (membership !== "leave" && membership !== "ban") continue;
      const invite = await this.#o.store.get(roomId, pdu["state_key"]);
      if (invite === undefined) continue;
      const version = getRoomVersion(invite.roomVersion);
      if (version === undefined) continue;
      const parsed = parsePdu(pdu, version);
      if (!("event" in parsed) || parsed.event.roomId !== roomId) continue;
      const senderServer = serverNameOf(parsed.event.sender);
      if (senderServer === undefined || (senderServer !== origin && senderServer !== invite.origin)) continue;
      if (!(await isSignedBy(parsed.event.pdu, version, senderServer, this.#o.keys))) continue;
      // Taken like the invite (out of band), so that the member's /sync shows the room left.
      await this.#o.roomserver.input({ kind: "out_of_band", pdu: parsed.event.pdu, roomVersion: version.id, origin });
      await this.forget(roomId, invite.userId);
    }
  }

  /**
   * invites-v2.yaml (and v1, whose body is the event with unsigned.invite_room_state and whose room
   * version "must" be taken as 1 or 2): checks the invite, signs it, and answers it signed.
   */
  async receive(origin: string, roomId: string, eventId: string, roomVersionId: string, event: unknown, inviteRoomState: unknown): Promise<Pdu> {
    const version = getRoomVersion(roomVersionId);
    if (version === undefined) {
      throw new MatrixError("M_INCOMPATIBLE_ROOM_VERSION", `Room version ${roomVersionId} is not supported here`, 400, { room_version: roomVersionId });
    }
    const parsed = parsePdu(event, version);
    if (!("event" in parsed)) throw invalid(`The invite event is invalid: ${parsed.error}`);
    const invite = parsed.event;
    if (invite.eventId !== eventId) throw invalid("The event ID does not match the event");
    if (invite.roomId !== roomId) throw invalid("The event is for another room");
    if (invite.type !== "m.room.member" || invite.content["membership"] !== "invite") throw invalid("The event is not an invite");
    if (serverNameOf(invite.sender) !== origin) throw invalid("The sender is not a user of the requesting server");
    if (invite.stateKey === undefined || serverNameOf(invite.stateKey) !== this.#o.serverName) throw invalid("The invited user is not of this server");
    if (this.#o.userExists !== undefined && !(await this.#o.userExists(invite.stateKey))) {
      throw new MatrixError("M_NOT_FOUND", "The invited user does not exist", 404);
    }
    await this.#o.checkInvitable?.(invite.stateKey);
    this.#o.checkNotBlocked?.(roomId);
    if (!checkContentHash(invite.pdu, version)) throw invalid("The invite's content hash does not match");
    if (!(await isSignedBy(invite.pdu, version, origin, this.#o.keys))) throw invalid("The invite is not signed by the inviting server");
    // invites-v2.yaml: M_INVALID_PARAM if "The invite event fails a signature check", which in v1-v2
    // also asks the signature of the server its event ID names.
    if (!(await isSignedByRequiredServers(invite.pdu, version, this.#o.keys))) throw invalid("The invite is not signed by every server it needs");
    if (!(await this.#o.rooms.isAllowed(roomId, origin))) throw new MatrixError("M_FORBIDDEN", "The room's server ACL denies your server", 403);
    const state = await this.#inviteRoomState(inviteRoomState, roomId, version);
    const signed = addSignature(invite.pdu, version, this.#o.serverName, this.#o.signingKey);
    if (!(await this.#o.rooms.isServerInRoom(roomId, this.#o.serverName))) {
      const received: ReceivedInvite = {
        roomId,
        userId: invite.stateKey,
        eventId,
        roomVersion: version.id,
        origin,
        event: signed,
        inviteRoomState: state,
        receivedTs: (this.#o.now ?? Date.now)(),
      };
      await this.#o.store.put(received);
      // The invitee's server takes the invite as an outlier (server-server-api#inviting-to-a-room),
      // placed in the room stream so that the invitee's /sync shows it (rooms.invite).
      const taken = await this.#o.roomserver.input({ kind: "out_of_band", pdu: signed, roomVersion: version.id, origin });
      if (taken.outcome !== "accepted") {
        await this.#o.store.remove(roomId, received.userId);
        throw invalid(`The invite was ${taken.outcome.replace("_", " ")} here: ${taken.reason}`);
      }
      for (const listener of this.#listeners) {
        try {
          listener(received);
        } catch (err) {
          this.#o.onListenerError?.(err);
        }
      }
    }
    return signed;
  }

  /**
   * A knock of one of our users that a resident of a room we are not in took (knocks.yaml
   * send_knock): kept beside the invites (one pending out-of-band membership per user and room)
   * with the knock_room_state the resident answered, and taken out of band so that the knocker's
   * /sync shows it (rooms.knock). The resident's invite replaces it; a leave from the room, or the
   * knocker's own leave through a resident, ends it.
   */
  async keepKnock(origin: string, knock: RoomEvent, version: RoomVersion, knockRoomState: unknown): Promise<InputResult> {
    const userId = knock.stateKey ?? knock.sender;
    await this.#o.store.put({
      roomId: knock.roomId,
      userId,
      eventId: knock.eventId,
      roomVersion: version.id,
      origin,
      event: knock.pdu,
      inviteRoomState: await this.#wellFormedRoomState(knockRoomState, knock.roomId, version),
      receivedTs: (this.#o.now ?? Date.now)(),
    });
    const taken = await this.#o.roomserver.input({ kind: "out_of_band", pdu: knock.pdu, roomVersion: version.id, origin: this.#o.serverName });
    if (taken.outcome !== "accepted") await this.#o.store.remove(knock.roomId, userId);
    return taken;
  }

  /**
   * knocks.yaml knock_room_state: entries "improperly signed or formatted SHOULD be removed" before
   * clients see them. Rooms whose events name their room by the create event (v12) send whole PDUs
   * there: those that do not parse as events of the room, or fail their signature check, go. Older
   * versions keep the objects that came (the stripping for /sync drops malformed ones).
   */
  async #wellFormedRoomState(value: unknown, roomId: string, version: RoomVersion): Promise<JsonObject[]> {
    const entries = Array.isArray(value) ? value.filter(isJsonObject) : [];
    if (!version.roomIdFromCreateEvent) return entries;
    const kept: JsonObject[] = [];
    for (const entry of entries) {
      const parsed = parsePdu(entry, version);
      if (!("event" in parsed) || parsed.event.roomId !== roomId) continue;
      if (await isSignedByRequiredServers(parsed.event.pdu, version, this.#o.keys)) kept.push(entry);
    }
    return kept;
  }

  /**
   * invite_room_state "MUST contain the m.room.create event" and entries "formatted according to the
   * room version" of the same room; servers SHOULD check it from v12 and MAY before, so v1-v11
   * keep whatever objects came.
   */
  async #inviteRoomState(value: unknown, roomId: string, version: RoomVersion): Promise<JsonObject[]> {
    const entries = Array.isArray(value) ? value.filter(isJsonObject) : [];
    if (!version.roomIdFromCreateEvent) return entries;
    let create = false;
    for (const entry of entries) {
      const parsed = parsePdu(entry, version);
      if (!("event" in parsed)) throw invalid(`invite_room_state has an invalid event: ${parsed.error}`);
      if (parsed.event.roomId !== roomId) throw invalid("invite_room_state has an event of another room");
      // invites-v2.yaml: M_INVALID_PARAM if "One or more events fails a signature check".
      if (!(await isSignedByRequiredServers(parsed.event.pdu, version, this.#o.keys))) throw invalid("invite_room_state has an event that fails its signature check");
      if (parsed.event.type === "m.room.create") create = true;
    }
    if (!create) throw invalid("invite_room_state has no m.room.create event");
    return entries;
  }

  /**
   * Invites a remote user: builds the invite on the room's current state, has the invitee's
   * server sign it (invite v2; v1 for rooms of version 1 and 2 when v2 is unknown there), then
   * takes it in and sends it to the room's servers.
   */
  async invite(roomId: string, inviter: string, invitee: string, content: JsonObject = {}): Promise<{ eventId: string }> {
    const destination = serverNameOf(invitee);
    if (destination === undefined) throw new MatrixError("M_INVALID_PARAM", "The invitee is not a user ID", 400);
    const built = await this.#o.templates.build({ roomId, type: "m.room.member", stateKey: invitee, sender: inviter, content: { ...content, membership: "invite" } });
    if (!built.auth.allowed) throw new MatrixError("M_FORBIDDEN", `You cannot invite this user: ${built.auth.reason}`, 403);
    const { version } = built;
    // In a room using a policy server, it signs the invite before anyone sees it (server-server-api#policy-servers).
    const pdu = await this.#o.roomserver.signOwn(roomId, completeEvent(built.template, version, this.#o.serverName, this.#o.signingKey, (this.#o.now ?? Date.now)()));
    const parsed = parsePdu(pdu, version);
    if (!("event" in parsed)) throw new Error(`our invite is invalid: ${parsed.error}`);
    const eventId = parsed.event.eventId;
    const inviteRoomState = await this.#o.templates.strippedState(roomId, [stateMapKey("m.room.member", inviter)]);
    const returned = await this.#send(destination, roomId, eventId, version, pdu, inviteRoomState);
    const checked = parsePdu(returned, version);
    if (!("event" in checked) || checked.event.eventId !== eventId) {
      throw new MatrixError("M_UNKNOWN", "The invited user's server answered another event", 502);
    }
    if (!(await isSignedBy(checked.event.pdu, version, destination, this.#o.keys))) {
      throw new MatrixError("M_UNKNOWN", "The invited user's server did not sign the invite", 502);
    }
    // Its signature again, in case the invitee's server did not hand it back (asked for only then).
    const signed = await this.#o.roomserver.signOwn(roomId, checked.event.pdu);
    const result = await this.#o.roomserver.input({ kind: "new", pdu: signed, origin: this.#o.serverName });
    if (result.outcome !== "accepted") {
      throw new MatrixError("M_FORBIDDEN", `The invite was ${result.outcome.replace("_", " ")}: ${result.reason}`, 403);
    }
    const servers = (await this.#o.rooms.serversInRoom(roomId)).filter((s) => s !== this.#o.serverName);
    this.#o.sender.queuePdu(roomId, eventId, servers);
    return { eventId };
  }

  async #send(destination: string, roomId: string, eventId: string, version: RoomVersion, pdu: Pdu, inviteRoomState: Pdu[]): Promise<unknown> {
    try {
      const answer = await this.#o.client.put(destination, `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`, {
        room_version: version.id,
        event: pdu,
        invite_room_state: inviteRoomState,
      });
      return answer["event"];
    } catch (err) {
      // invites-v2.yaml: "Senders which receive a 400 or 404 response to this endpoint should retry
      // using the v1 API as the server may be older, if the room version is "1" or "2"."
      if (!isUnknownEndpoint(err)) throw asMatrixError(err);
      if (version.id !== "1" && version.id !== "2") {
        throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", `${destination} does not know invite v2, and v1 is not for rooms of version ${version.id}`, 400);
      }
    }
    try {
      const answer = await this.#o.client.requestJson("PUT", destination, `/_matrix/federation/v1/invite/${enc(roomId)}/${enc(eventId)}`, {
        ...pdu,
        unsigned: { invite_room_state: inviteRoomState },
      });
      const body = Array.isArray(answer) ? answer[1] : undefined;
      return isJsonObject(body) ? body["event"] : undefined;
    } catch (err) {
      throw asMatrixError(err);
    }
  }
}

/**
 * The server does not know the endpoint (an older server): 404 or 400 with M_UNRECOGNIZED, or a
 * 404 without a Matrix error (server-server-api#api-standards: unknown endpoints answer
 * M_UNRECOGNIZED; servers before that answered a bare 404). A 404 with another errcode (such as
 * M_NOT_FOUND for an unknown user or room) is the server's answer.
 */
export function isUnknownEndpoint(err: unknown): boolean {
  if (!(err instanceof FederationRequestError) || err.reason !== "http") return false;
  if (err.status === 404) return err.errcode === undefined || err.errcode === "M_UNRECOGNIZED";
  return err.status === 400 && err.errcode === "M_UNRECOGNIZED";
}

/** A remote server's refusal, passed on to our client in the spec's terms. */
export function asMatrixError(err: unknown): MatrixError {
  if (err instanceof MatrixError) return err;
  if (err instanceof FederationRequestError) {
    if (err.reason === "http" && err.status !== undefined && err.status < 500 && err.errcode !== undefined) {
      return new MatrixError(err.errcode as MatrixError["errcode"], err.message, err.status);
    }
    return new MatrixError(err.reason === "timeout" ? "M_CONNECTION_TIMEOUT" : "M_CONNECTION_FAILED", err.message, 502);
  }
  return new MatrixError("M_UNKNOWN", err instanceof Error ? err.message : String(err), 500);
}
