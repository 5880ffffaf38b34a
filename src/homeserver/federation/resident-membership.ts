// This server as the resident of a room helping another server's user in or out
// (server-server-api#joining-rooms, #knocking-rooms, #leaving-rooms-rejecting-invites):
// /make_join, /make_leave and /make_knock answer a template built on the current state;
// /send_join, /send_leave and /send_knock take the signed event through the pipeline and send it
// to the room's other servers ("The resident server must also send the event to other servers
// participating in the room"). Restricted joins (server-server-api#restricted-rooms) are signed
// here by a local user who may invite.
import { actionLevel, currentJoinRule, effectiveMembership, powerLevelOf, type AuthStateLookup } from "../../core/auth/index.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { checkContentHash } from "../../core/events/hashes.ts";
import { stateMapKey, type Pdu } from "../../core/events/room-event.ts";
import { MatrixError } from "../../core/errors.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { addSignature, type EventTemplates } from "./event-template.ts";
import { parsePdu } from "./remote-events.ts";
import type { RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";
import type { FederationSender } from "./sender.ts";

export type MembershipHandshake = "join" | "leave" | "knock";

export interface ResidentMembershipOptions {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly roomserver: Pick<Roomserver, "input" | "signReceived">;
  readonly reader: RoomReader;
  readonly rooms: RoomServers;
  readonly templates: EventTemplates;
  readonly sender: Pick<FederationSender, "queuePdu">;
}

export interface SendJoinResponse {
  readonly origin: string;
  readonly state: Pdu[];
  readonly auth_chain: Pdu[];
  readonly event?: Pdu;
  readonly members_omitted: boolean;
}

function invalid(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

export class ResidentMembership {
  readonly #o: ResidentMembershipOptions;

  constructor(options: ResidentMembershipOptions) {
    this.#o = options;
  }

  /**
   * The template for `userId` (of `origin`) to sign (joins-v1.yaml make_join, leaving-v1.yaml,
   * knocks.yaml). `versions` is the `ver` the caller supports (join and knock); "Defaults to [1]".
   */
  async make(kind: MembershipHandshake, origin: string, roomId: string, userId: string, versions: readonly string[] | undefined): Promise<JsonObject> {
    if (serverNameOf(userId) !== origin) throw new MatrixError("M_FORBIDDEN", "The user is not of the requesting server", 403);
    const version = await this.#residentRoom(origin, roomId);
    if (kind !== "leave") {
      const supported = versions === undefined || versions.length === 0 ? ["1"] : versions;
      if (!supported.includes(version.id)) {
        throw new MatrixError("M_INCOMPATIBLE_ROOM_VERSION", "Your homeserver does not support the features required to join this room", 400, {
          room_version: version.id,
        });
      }
    }
    const content: JsonObject = { membership: kind };
    if (kind === "join") {
      const authoriser = await this.#restrictedJoinAuthoriser(roomId, userId, version);
      if (authoriser !== undefined) content["join_authorised_via_users_server"] = authoriser;
    }
    const built = await this.#o.templates.build({ roomId, type: "m.room.member", stateKey: userId, sender: userId, content });
    if (!built.auth.allowed) throw new MatrixError("M_FORBIDDEN", `You are not allowed to ${kind} this room: ${built.auth.reason}`, 403);
    return { room_version: version.id, event: built.template };
  }

  /**
   * Takes the signed membership event in (joins-v2.yaml send_join, leaving-v2.yaml, knocks.yaml):
   * checked as the spec asks, through the pipeline, then sent to the room's other servers.
   */
  async send(kind: MembershipHandshake, origin: string, roomId: string, eventId: string, body: JsonObject): Promise<JsonObject> {
    const version = await this.#residentRoom(origin, roomId);
    const parsed = parsePdu(body, version);
    if (!("event" in parsed)) throw invalid(`The event is invalid: ${parsed.error}`);
    const event = parsed.event;
    if (event.eventId !== eventId) throw invalid("The event ID does not match the event");
    if (event.roomId !== roomId) throw invalid("The event is for another room");
    if (event.type !== "m.room.member") throw invalid("The event is not an m.room.member event");
    if (event.content["membership"] !== kind) throw invalid(`The membership is not ${kind}`);
    if (serverNameOf(event.sender) !== origin) throw invalid("The sender is not a user of the requesting server");
    if (event.stateKey !== event.sender) throw invalid("The state_key is not the sender");
    // We would store a redacted event in its place: the joining server would not recognise it.
    if (!checkContentHash(event.pdu, version)) throw invalid("The event's content hash does not match");
    let pdu = event.pdu;
    let signedByUs = false;
    const authoriser = event.content["join_authorised_via_users_server"];
    if (kind === "join" && version.restrictedJoins && typeof authoriser === "string" && serverNameOf(authoriser) === this.#o.serverName) {
      // Our signature is what vouches for the join, and the joining server wrote the content: check
      // the conditions again rather than trust its make_join (server-server-api#restricted-rooms: the
      // resident "must ensure that the joining server satisfies at least one of the conditions").
      await this.#restrictedJoinAuthoriser(roomId, event.sender, version);
      // server-server-api#restricted-rooms: "the signature must be added before sending or persisting the event".
      pdu = addSignature(pdu, version, this.#o.serverName, this.#o.signingKey);
      signedByUs = true;
    }
    // In a room using a policy server, a membership it does not sign is soft failed: refused here.
    pdu = (await this.#o.roomserver.signReceived(roomId, [pdu]))[0] ?? pdu;
    const result = await this.#o.roomserver.input({ kind: "new", pdu, origin });
    if (result.outcome === "refused") throw invalid(`The event was refused: ${result.reason}`);
    if (result.outcome !== "accepted") throw new MatrixError("M_FORBIDDEN", `The event was ${result.outcome.replace("_", " ")}: ${result.reason}`, 403);
    const others = (await this.#o.rooms.serversInRoom(roomId)).filter((s) => s !== origin && s !== this.#o.serverName);
    this.#o.sender.queuePdu(roomId, eventId, others);
    if (kind === "leave") return {};
    if (kind === "knock") return { knock_room_state: await this.#o.templates.strippedState(roomId) };
    const response = await this.stateForJoin(eventId);
    return { ...response, ...(signedByUs ? { event: pdu } : {}) } as unknown as JsonObject;
  }

  /** The state before a join and the auth chain of it and of that state (joins-v2.yaml 200). */
  async stateForJoin(eventId: string): Promise<SendJoinResponse> {
    const state = await this.#o.reader.stateBefore(eventId);
    if (state === undefined) throw new MatrixError("M_NOT_FOUND", "No state is known at that event", 404);
    const stateIds = [...state.values()];
    const chain = await this.#o.reader.authChain([...stateIds, eventId]);
    const events = await this.#o.reader.events([...stateIds, ...chain]);
    const pdus = (ids: Iterable<string>): Pdu[] => [...ids].flatMap<Pdu>((id) => events.get(id)?.event.pdu ?? []);
    return { origin: this.#o.serverName, state: pdus(stateIds), auth_chain: pdus(chain), members_omitted: false };
  }

  /** The room's version, when we are in it and the ACL lets `origin` in; 404 or 403 otherwise. */
  async #residentRoom(origin: string, roomId: string): Promise<RoomVersion> {
    const version = await this.#o.reader.roomVersion(roomId);
    if (version === undefined || !(await this.#o.rooms.isServerInRoom(roomId, this.#o.serverName))) {
      throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
    }
    if (!(await this.#o.rooms.isAllowed(roomId, origin))) throw new MatrixError("M_FORBIDDEN", "The room's server ACL denies your server", 403);
    return version;
  }

  /**
   * client-server-api#restricted-rooms: the local user who vouches for a join through the join
   * rule's conditions, or undefined when none is needed (no restricted rule, or the user is
   * invited or joined already).
   */
  async #restrictedJoinAuthoriser(roomId: string, userId: string, version: RoomVersion): Promise<string | undefined> {
    if (!version.restrictedJoins) return undefined;
    const keys = [
      stateMapKey("m.room.join_rules", ""),
      stateMapKey("m.room.power_levels", ""),
      stateMapKey("m.room.create", ""),
      stateMapKey("m.room.member", userId),
    ];
    const context = await this.#o.templates.stateLookup(roomId, keys);
    if (context === undefined) return undefined;
    const { lookup } = context;
    const rule = currentJoinRule(lookup);
    const restricted = rule === "restricted" || (rule === "knock_restricted" && version.knockRestrictedJoinRule);
    if (!restricted) return undefined;
    const membership = effectiveMembership(userId, lookup);
    if (membership === "invite" || membership === "join") return undefined;
    const allow = lookup("m.room.join_rules", "")?.content["allow"];
    const rooms = Array.isArray(allow)
      ? allow.flatMap((c) => (isJsonObject(c) && c["type"] === "m.room_membership" && typeof c["room_id"] === "string" ? [c["room_id"]] : []))
      : [];
    let known = false;
    let satisfied = false;
    for (const allowedRoom of rooms) {
      if (!(await this.#o.rooms.isServerInRoom(allowedRoom, this.#o.serverName))) continue;
      known = true;
      if ((await this.#o.rooms.membership(allowedRoom, userId)) === "join") satisfied = true;
    }
    if (!known) throw new MatrixError("M_UNABLE_TO_AUTHORISE_JOIN", "This server cannot check the room's join conditions", 400);
    if (!satisfied) throw new MatrixError("M_FORBIDDEN", "You do not meet the room's join conditions", 403);
    const authoriser = await this.#localInviter(roomId, lookup, version);
    if (authoriser === undefined) throw new MatrixError("M_UNABLE_TO_GRANT_JOIN", "No user of this server can invite you: try another server", 400);
    return authoriser;
  }

  async #localInviter(roomId: string, lookup: AuthStateLookup, version: RoomVersion): Promise<string | undefined> {
    const inviteLevel = actionLevel("invite", lookup, version);
    const candidates = await this.#o.rooms.joinedMembersOf(roomId, this.#o.serverName);
    const able = candidates
      .map((userId) => ({ userId, level: powerLevelOf(userId, lookup, version) }))
      .filter((c) => c.level >= inviteLevel)
      .sort((a, b) => b.level - a.level || (a.userId < b.userId ? -1 : 1));
    return able[0]?.userId;
  }
}
