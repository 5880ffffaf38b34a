// Our users joining, leaving and knocking on rooms this server is not in, through a resident
// server (server-server-api#joining-rooms): the room found by alias with /query/directory, a
// template from /make_join, our signature, /send_join (v2; v1 for older servers), then the room
// as the resident answered it stored here: its auth chain and state as outliers, and the join
// on top of that state. The state is taken whole; a partial-state join would store the join on
// the state without members and fetch the members afterwards (resync), behind this same API.
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { stateMapKey, type Pdu, type RoomEvent, type StateMap } from "../../core/events/room-event.ts";
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import { getRoomVersion, ROOM_VERSIONS, type RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { FederationRequestError } from "./client.ts";
import { completeEvent } from "./event-template.ts";
import { asMatrixError, isUnknownEndpoint, type FederationInvites } from "./invites.ts";
import type { EventFetcher } from "./event-fetcher.ts";
import { isStored, parsePdu, parsePdusOfRoom, storeOutliers } from "./remote-events.ts";
import type { RoomReader } from "./room-reader.ts";

export interface MembershipClient {
  get(destination: string, path: string, options?: { query?: Record<string, string | readonly string[]>; lenientNumbers?: boolean }): Promise<JsonObject>;
  put(destination: string, path: string, body: JsonObject, options?: { lenientNumbers?: boolean }): Promise<JsonObject>;
  requestJson(method: "PUT", destination: string, path: string, body: JsonObject, options?: { lenientNumbers?: boolean }): Promise<JsonValue>;
}

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RemoteMembershipOptions {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly client: MembershipClient;
  readonly roomserver: Pick<Roomserver, "input">;
  readonly reader: RoomReader;
  readonly fetcher: EventFetcher;
  readonly invites: Pick<FederationInvites, "pending" | "forget" | "keepKnock">;
  /** Our own aliases: a join by one of them is not a remote lookup. */
  readonly lookupLocalAlias?: (alias: string) => Promise<{ roomId: string; servers: readonly string[] } | undefined>;
  readonly logger?: Log;
  readonly now?: () => number;
}

/** Every room version this server supports, for `ver` (joins-v1.yaml make_join). */
export const SUPPORTED_ROOM_VERSIONS: readonly string[] = [...ROOM_VERSIONS.keys()];

const enc = encodeURIComponent;

type Handshake = "join" | "leave" | "knock";

/** Errors after which another resident may do better; anything else is the room's answer. */
function worthAnotherServer(err: unknown): boolean {
  if (!(err instanceof FederationRequestError)) return !(err instanceof MatrixError) || err.status >= 500;
  if (err.reason !== "http") return true;
  const status = err.status ?? 500;
  return status >= 500 || status === 404 || err.errcode === "M_UNABLE_TO_GRANT_JOIN" || err.errcode === "M_UNABLE_TO_AUTHORISE_JOIN" || err.errcode === "M_NOT_FOUND";
}

export class RemoteMembership {
  readonly #o: RemoteMembershipOptions;

  constructor(options: RemoteMembershipOptions) {
    this.#o = options;
  }

  /** A room ID, or the room an alias names (query.yaml /query/directory on the alias's server), and servers in it. */
  async resolveRoom(roomIdOrAlias: string): Promise<{ roomId: string; servers: string[] }> {
    if (!roomIdOrAlias.startsWith("#")) return { roomId: roomIdOrAlias, servers: [] };
    const alias = parseRoomAlias(roomIdOrAlias);
    if (alias === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room alias", 400);
    const server = serverNameOf(alias) as string;
    if (server === this.#o.serverName) {
      const local = await this.#o.lookupLocalAlias?.(alias);
      if (local === undefined) throw new MatrixError("M_NOT_FOUND", "Room alias not found", 404);
      return { roomId: local.roomId, servers: [...local.servers] };
    }
    let answer: JsonObject;
    try {
      answer = await this.#o.client.get(server, "/_matrix/federation/v1/query/directory", { query: { room_alias: alias } });
    } catch (err) {
      throw asMatrixError(err);
    }
    const roomId = answer["room_id"];
    if (typeof roomId !== "string") throw new MatrixError("M_NOT_FOUND", "Room alias not found", 404);
    const servers = Array.isArray(answer["servers"]) ? answer["servers"].filter((s): s is string => typeof s === "string") : [];
    return { roomId, servers: servers.includes(server) ? servers : [server, ...servers] };
  }

  /**
   * Joins `userId` to a room through the first resident that helps (the seam the rooms service
   * calls when the room is not joinable here). Throws MatrixError with the room's answer.
   */
  async join(
    userId: string,
    roomIdOrAlias: string,
    viaServers: readonly string[],
    content: JsonObject = {},
  ): Promise<{ roomId: string; eventId: string; streamOrdering: number | undefined }> {
    const { roomId, servers } = await this.resolveRoom(roomIdOrAlias);
    const candidates = await this.#candidates(userId, roomId, [...viaServers, ...servers]);
    return await this.#tryEach(candidates, async (server) => ({ roomId, ...(await this.#joinVia(server, roomId, userId, content)) }));
  }

  /** Leaves (rejects an invite to, retracts a knock on) a room we are not in, through a resident (leaving-v2.yaml). */
  async leave(userId: string, roomId: string, viaServers: readonly string[] = [], content: JsonObject = {}): Promise<{ eventId: string; streamOrdering: number | undefined }> {
    const candidates = await this.#candidates(userId, roomId, viaServers);
    const { pdu, eventId, version } = await this.#tryEach(candidates, async (server) => {
      const signed = await this.#signedFromTemplate("leave", server, roomId, userId, content, undefined);
      await this.#sendHandshake("leave", server, roomId, signed.eventId, signed.pdu);
      return signed;
    });
    // Kept as the user's out-of-band membership of the room: their /sync shows the room left.
    const taken = await this.#o.roomserver.input({ kind: "out_of_band", pdu, roomVersion: version.id, origin: this.#o.serverName });
    if (taken.outcome !== "accepted") this.#o.logger?.warn({ roomId, eventId, outcome: taken.outcome }, "federation: our leave of a remote room was not stored");
    await this.#o.invites.forget(roomId, userId);
    return { eventId, streamOrdering: taken.outcome === "accepted" ? taken.streamOrdering : undefined };
  }

  /**
   * Knocks on a room (knocks.yaml); answers the room's knock_room_state. The knock is kept here
   * as the user's out-of-band membership of the room, with that state: their /sync shows it.
   */
  async knock(
    userId: string,
    roomIdOrAlias: string,
    viaServers: readonly string[],
    content: JsonObject = {},
  ): Promise<{ roomId: string; eventId: string; knockRoomState: JsonObject[]; streamOrdering: number | undefined }> {
    const { roomId, servers } = await this.resolveRoom(roomIdOrAlias);
    const candidates = await this.#candidates(userId, roomId, [...viaServers, ...servers]);
    const knocked = await this.#tryEach(candidates, async (server) => {
      const signed = await this.#signedFromTemplate("knock", server, roomId, userId, content, SUPPORTED_ROOM_VERSIONS.filter((v) => getRoomVersion(v)?.knocking === true));
      const answer = await this.#sendHandshake("knock", server, roomId, signed.eventId, signed.pdu);
      const state = Array.isArray(answer["knock_room_state"]) ? answer["knock_room_state"].filter(isJsonObject) : [];
      return { server, ...signed, state };
    });
    const { server, event, eventId, version, state } = knocked;
    const taken = await this.#o.invites.keepKnock(server, event, version, state);
    if (taken.outcome !== "accepted") this.#o.logger?.warn({ roomId, eventId, outcome: taken.outcome }, "federation: our knock on a remote room was not stored");
    return { roomId, eventId, knockRoomState: state, streamOrdering: taken.outcome === "accepted" ? taken.streamOrdering : undefined };
  }

  async #candidates(userId: string, roomId: string, given: readonly string[]): Promise<string[]> {
    const invite = await this.#o.invites.pending(roomId, userId);
    // server-server-api#joining-rooms: the server that invited us is a good candidate; the room
    // ID's own server (before v12) created it.
    const all = [...given, ...(invite === undefined ? [] : [invite.origin]), ...(roomId.includes(":") ? [serverNameOf(roomId) ?? ""] : [])];
    const out = [...new Set(all)].filter((s) => s !== "" && s !== this.#o.serverName);
    if (out.length === 0) throw new MatrixError("M_NOT_FOUND", "No server in the room is known to join through", 404);
    return out;
  }

  async #tryEach<T>(servers: readonly string[], attempt: (server: string) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const server of servers) {
      try {
        return await attempt(server);
      } catch (err) {
        last = err;
        this.#o.logger?.info({ server, err: err instanceof Error ? err.message : String(err) }, "federation: a membership handshake failed");
        if (!worthAnotherServer(err)) break;
      }
    }
    throw asMatrixError(last);
  }

  /** make_*: the template checked as the spec asks, completed with our content, hashed and signed. */
  async #signedFromTemplate(
    kind: Handshake,
    server: string,
    roomId: string,
    userId: string,
    content: JsonObject,
    versions: readonly string[] | undefined,
  ): Promise<{ pdu: Pdu; eventId: string; version: RoomVersion; event: RoomEvent }> {
    const answer = await this.#o.client.get(server, `/_matrix/federation/v1/make_${kind}/${enc(roomId)}/${enc(userId)}`, {
      ...(versions === undefined ? {} : { query: { ver: versions } }),
      lenientNumbers: true,
    });
    const versionId = typeof answer["room_version"] === "string" ? answer["room_version"] : "1";
    const version = getRoomVersion(versionId);
    if (version === undefined) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", `Room version ${versionId} is not supported here`, 400);
    const template = answer["event"];
    // joins-v1.yaml: "the sending server MUST verify" room_id, sender, state_key, type and membership.
    if (
      !isJsonObject(template) ||
      template["room_id"] !== roomId ||
      template["sender"] !== userId ||
      template["state_key"] !== userId ||
      template["type"] !== "m.room.member" ||
      !isJsonObject(template["content"]) ||
      template["content"]["membership"] !== kind
    ) {
      throw new MatrixError("M_UNKNOWN", `${server} answered a malformed make_${kind} template`, 502);
    }
    // The membership and the authorising user are the resident's to say; the rest is ours.
    const { join_authorised_via_users_server: _ours, ...rest } = content;
    const merged: JsonObject = { ...rest, membership: kind };
    const authoriser = template["content"]["join_authorised_via_users_server"];
    if (kind === "join" && authoriser !== undefined) merged["join_authorised_via_users_server"] = authoriser;
    const pdu = completeEvent({ ...template, content: merged }, version, this.#o.serverName, this.#o.signingKey, (this.#o.now ?? Date.now)());
    const parsed = parsePdu(pdu, version);
    if (!("event" in parsed)) throw new MatrixError("M_UNKNOWN", `the ${kind} event built from ${server}'s template is invalid: ${parsed.error}`, 502);
    return { pdu, eventId: parsed.event.eventId, version, event: parsed.event };
  }

  /** send_*: v2, or v1 (answering [200, {...}]) where v2 is unknown. */
  async #sendHandshake(kind: Handshake, server: string, roomId: string, eventId: string, pdu: Pdu): Promise<JsonObject> {
    const path = (v: string): string => `/_matrix/federation/${v}/send_${kind}/${enc(roomId)}/${enc(eventId)}`;
    if (kind === "knock") return await this.#o.client.put(server, path("v1"), pdu, { lenientNumbers: true });
    try {
      return await this.#o.client.put(server, path("v2"), pdu, { lenientNumbers: true });
    } catch (err) {
      if (!isUnknownEndpoint(err)) throw err;
    }
    const answer = await this.#o.client.requestJson("PUT", server, path("v1"), pdu, { lenientNumbers: true });
    const body = Array.isArray(answer) ? answer[1] : undefined;
    if (!isJsonObject(body)) throw new MatrixError("M_UNKNOWN", `${server} answered send_${kind} v1 with something else than [200, {...}]`, 502);
    return body;
  }

  async #joinVia(server: string, roomId: string, userId: string, content: JsonObject): Promise<{ eventId: string; streamOrdering: number | undefined }> {
    const { pdu, eventId, version } = await this.#signedFromTemplate("join", server, roomId, userId, content, SUPPORTED_ROOM_VERSIONS);
    const answer = await this.#sendHandshake("join", server, roomId, eventId, pdu);
    // joins-v2.yaml `event`: the join "including a signature from the resident server", for restricted joins.
    let join = pdu;
    const signed = answer["event"];
    if (isJsonObject(signed)) {
      const parsed = parsePdu(signed, version);
      if ("event" in parsed && parsed.event.eventId === eventId) join = parsed.event.pdu;
    }
    const streamOrdering = await this.#storeJoinedRoom(server, roomId, version, join, answer);
    await this.#o.invites.forget(roomId, userId);
    return { eventId, streamOrdering };
  }

  /**
   * The resident's answer stored: the auth chain and state as outliers (auth events first), then
   * the join with that state as the state before it. The pipeline checks every one of them.
   */
  async #storeJoinedRoom(server: string, roomId: string, version: RoomVersion, join: Pdu, answer: JsonObject): Promise<number | undefined> {
    const state = parsePdusOfRoom(answer["state"], roomId, version);
    const authChain = parsePdusOfRoom(answer["auth_chain"], roomId, version);
    const stored = await storeOutliers(this.#o.roomserver, [...authChain, ...state], version, server);
    const stateBefore: StateMap = new Map();
    let hasCreate = false;
    for (const event of state) {
      const result = stored.get(event.eventId);
      if (event.stateKey === undefined || !isStored(result) || result?.outcome === "rejected") continue;
      stateBefore.set(stateMapKey(event.type, event.stateKey), event.eventId);
      if (event.type === "m.room.create") hasCreate = true;
    }
    if (!hasCreate) throw new MatrixError("M_UNKNOWN", `${server}'s send_join answer has no valid m.room.create event`, 502);
    const refused = [...stored.values()].filter((r) => !isStored(r)).length;
    if (refused > 0) this.#o.logger?.warn({ server, roomId, refused }, "federation: events of a send_join answer were refused");
    const current = await this.#o.reader.currentState(roomId);
    if (current !== undefined && current.size > 0) {
      // We were in the room before: bring our view of it up to the join (what happened while we
      // were away), so that the join is checked against the room as it is. A first join has no
      // current state to check against: the pipeline takes it on the state it comes with.
      const joinEvent = parsePdu(join, version);
      if ("event" in joinEvent) {
        const gap = await this.#o.fetcher.fillGaps(server, roomId, version, [joinEvent.event]);
        await Promise.all(
          gap.missing.map((event) => this.#o.roomserver.input({ kind: "new", pdu: event.pdu, origin: server, stateBefore: gap.stateBefore.get(event.eventId) })),
        );
      }
    }
    const result = await this.#o.roomserver.input({ kind: "new", pdu: join, origin: server, stateBefore });
    if (result.outcome !== "accepted") {
      throw new MatrixError("M_FORBIDDEN", `The join was ${result.outcome.replace("_", " ")} here: ${result.reason}`, 403);
    }
    return result.streamOrdering;
  }
}
