// Room aliases (client-server-api#room-aliases, directory.yaml): the aliases this server hosts,
// resolving others' through federation, and the check of m.room.canonical_alias content
// (room_state.yaml: M_INVALID_PARAM for bad syntax, M_BAD_ALIAS for an alias elsewhere).
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, parseRoomId, serverNameOf } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AliasStore } from "../../storage/stores/aliases.ts";
import type { Roomserver } from "../roomserver/index.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { RemoteRooms } from "./remote-joiner.ts";
import type { RoomStateReader } from "./room-state.ts";
import type { HistoryVisibility } from "./visibility.ts";

export interface AliasServiceDeps {
  readonly serverName: string;
  readonly store: AliasStore;
  readonly states: RoomStateReader;
  readonly membershipIndex: MembershipIndex;
  readonly visibility: HistoryVisibility;
  readonly roomserver: Roomserver;
  readonly isAdmin: (userId: string) => Promise<boolean>;
  readonly remote: () => RemoteRooms;
  readonly now?: () => number;
}

/** What aliases ask of the application services (application-service-api). */
export interface AliasAppserviceRules {
  /** Whether an exclusive alias namespace of a service other than `appserviceId` claims the alias. */
  isReservedFor(roomAlias: string, appserviceId: string | undefined): boolean;
  /** Whether the service's alias namespaces match the alias. */
  isAppserviceAlias(appserviceId: string, roomAlias: string): boolean;
  /**
   * application-service-api#querying: asks the services interested in an unknown alias of ours
   * whether it exists (they create it meanwhile); true when one said so.
   */
  queryAlias(roomAlias: string): Promise<boolean>;
}

export class AliasService {
  readonly #deps: AliasServiceDeps;
  #appservices: AliasAppserviceRules | undefined;

  constructor(deps: AliasServiceDeps) {
    this.#deps = deps;
  }

  /** Aliases learn of the application services (built after the rooms), when there are any. */
  useAppservices(rules: AliasAppserviceRules): void {
    this.#appservices = rules;
  }

  /** PUT /directory/room/{roomAlias}: a room member maps a new alias of this server to the room. */
  async create(requester: Requester, roomAlias: string, roomId: string): Promise<void> {
    this.#checkLocalAlias(roomAlias);
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room ID", 400);
    if (!(await this.#deps.states.isKnown(roomId))) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    if (requester.isGuest) throw new MatrixError("M_GUEST_ACCESS_FORBIDDEN", "Guests may not create aliases", 403);
    // application-service-api#server-admin-style-permissions: a service has full control of the
    // aliases of its namespaces (no membership needed) and none outside; an exclusive namespace's
    // aliases are refused to everyone else. M_EXCLUSIVE either way (400, as Synapse).
    const appserviceId = requester.appservice?.id;
    if (appserviceId !== undefined && this.#appservices?.isAppserviceAlias(appserviceId, roomAlias) !== true) {
      throw new MatrixError("M_EXCLUSIVE", "This application service has not reserved this alias", 400);
    }
    if (this.#appservices?.isReservedFor(roomAlias, appserviceId) === true) {
      throw new MatrixError("M_EXCLUSIVE", "This alias is reserved by an application service", 400);
    }
    const member = appserviceId !== undefined || (await this.#deps.membershipIndex.membershipOf(requester.userId, roomId)) === "join";
    if (!member && !(await this.#deps.isAdmin(requester.userId))) {
      throw new MatrixError("M_FORBIDDEN", "You are not in the room", 403);
    }
    // directory.yaml: 409 when the alias exists already.
    if (!(await this.#deps.store.create(roomAlias, roomId, requester.userId, (this.#deps.now ?? Date.now)()))) {
      throw new MatrixError("M_UNKNOWN", `Room alias ${roomAlias} already exists`, 409);
    }
  }

  /** An alias created by the server itself (createRoom's room_alias_name): M_ROOM_IN_USE when taken. */
  async createForNewRoom(roomAlias: string, roomId: string, creator: string): Promise<void> {
    if (!(await this.#deps.store.create(roomAlias, roomId, creator, (this.#deps.now ?? Date.now)()))) {
      throw new MatrixError("M_ROOM_IN_USE", `Room alias ${roomAlias} already exists`, 400);
    }
  }

  /** The aliases of this server that point at the room (an application service's interest in its events). */
  async aliasesOfRoom(roomId: string): Promise<string[]> {
    return await this.#deps.store.forRoom(roomId);
  }

  /** Whether an alias of this server is free (checked before a room is created for it). */
  async isFree(roomAlias: string): Promise<boolean> {
    return (await this.#deps.store.get(roomAlias)) === undefined;
  }

  /** GET /directory/room/{roomAlias}: ours from the table, others' through federation. */
  async resolve(roomAlias: string): Promise<{ roomId: string; servers: string[] }> {
    if (parseRoomAlias(roomAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Room alias invalid", 400);
    if (serverNameOf(roomAlias) !== this.#deps.serverName) {
      const found = await this.#deps.remote().aliases?.resolveAlias(roomAlias);
      if (found === undefined) throw new MatrixError("M_NOT_FOUND", `Room alias ${roomAlias} not found`, 404);
      return found;
    }
    let stored = await this.#deps.store.get(roomAlias);
    // application-service-api#querying: an unknown alias of a service's namespace is asked of it first.
    if (stored === undefined && this.#appservices !== undefined && (await this.#appservices.queryAlias(roomAlias))) {
      stored = await this.#deps.store.get(roomAlias);
    }
    if (stored === undefined) throw new MatrixError("M_NOT_FOUND", `Room alias ${roomAlias} not found`, 404);
    // The servers that can help a join: this one first, then the others in the room.
    const others = (await this.#deps.membershipIndex.serversInRoom(stored.roomId)).filter((s) => s !== this.#deps.serverName);
    return { roomId: stored.roomId, servers: [this.#deps.serverName, ...others] };
  }

  /**
   * DELETE /directory/room/{roomAlias}: by its creator, a server admin, or someone who may change
   * the room's canonical alias; the alias also leaves m.room.canonical_alias when it is there.
   */
  async delete(requester: Requester, roomAlias: string): Promise<void> {
    if (parseRoomAlias(roomAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Room alias invalid", 400);
    const stored = await this.#deps.store.get(roomAlias);
    if (stored === undefined) throw new MatrixError("M_NOT_FOUND", `Room alias ${roomAlias} not found`, 404);
    if (stored.creator !== requester.userId && !(await this.#deps.isAdmin(requester.userId))) {
      const state = await this.#deps.states.current(stored.roomId);
      const allowed =
        state !== undefined &&
        (await state.membershipOf(requester.userId)) === "join" &&
        (await state.maySend(requester.userId, "m.room.canonical_alias", ""));
      if (!allowed) throw new MatrixError("M_FORBIDDEN", "You may not delete this alias", 403);
    }
    await this.#deps.store.delete(roomAlias);
    await this.#removeFromCanonicalAlias(requester.userId, stored.roomId, roomAlias);
  }

  /** GET /rooms/{roomId}/aliases: for the room's members, or anyone when it is world_readable. */
  async localAliases(requester: Requester, roomId: string): Promise<string[]> {
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room ID", 400);
    const state = await this.#deps.states.current(roomId);
    if (state === undefined) throw new MatrixError("M_FORBIDDEN", "You are not in this room", 403);
    const joined = (await state.membershipOf(requester.userId)) === "join";
    if (!joined && (await this.#deps.visibility.settingIn(state.map)) !== "world_readable" && !(await this.#deps.isAdmin(requester.userId))) {
      throw new MatrixError("M_FORBIDDEN", "You are not in this room", 403);
    }
    return await this.#deps.store.forRoom(roomId);
  }

  /** The room's local aliases, for the room upgrade to move. */
  async moveAliases(fromRoomId: string, toRoomId: string): Promise<string[]> {
    return await this.#deps.store.moveRoom(fromRoomId, toRoomId);
  }

  /**
   * Checks an m.room.canonical_alias content before it is sent (room_state.yaml): every alias
   * well-formed (M_INVALID_PARAM) and pointing at this room (M_BAD_ALIAS).
   */
  async validateCanonicalAlias(roomId: string, content: JsonObject): Promise<void> {
    for (const a of new Set(canonicalAliasesOf(content))) {
      let target: string | undefined;
      try {
        target = (await this.resolve(a)).roomId;
      } catch (err) {
        if (!(err instanceof MatrixError)) throw err;
      }
      if (target !== roomId) throw new MatrixError("M_BAD_ALIAS", `The alias ${a} does not point to this room`, 400);
    }
  }

  #checkLocalAlias(roomAlias: string): void {
    if (parseRoomAlias(roomAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Room alias invalid", 400);
    if (serverNameOf(roomAlias) !== this.#deps.serverName) throw new MatrixError("M_INVALID_PARAM", "Room alias must be on this server", 400);
  }

  /** directory.yaml (DELETE, note): the deleted alias leaves alias/alt_aliases; best effort, as the requester. */
  async #removeFromCanonicalAlias(userId: string, roomId: string, roomAlias: string): Promise<void> {
    const state = await this.#deps.states.current(roomId);
    const content = await state?.content("m.room.canonical_alias");
    if (state === undefined || content === undefined) return;
    const alt = Array.isArray(content["alt_aliases"]) ? content["alt_aliases"] : [];
    if (content["alias"] !== roomAlias && !alt.includes(roomAlias)) return;
    const next: JsonObject = { ...content };
    if (next["alias"] === roomAlias) delete next["alias"];
    if (Array.isArray(content["alt_aliases"])) next["alt_aliases"] = alt.filter((a) => a !== roomAlias);
    try {
      await this.#deps.roomserver.createLocalEvent({ roomId, type: "m.room.canonical_alias", stateKey: "", sender: userId, content: next });
    } catch (err) {
      // Without the power to change it, the alias is still deleted (directory.yaml recommends so).
      if (!(err instanceof MatrixError)) throw err;
    }
  }
}

/** The aliases an m.room.canonical_alias content names (`alias` and `alt_aliases`), refused with M_INVALID_PARAM unless each is a room alias. */
export function canonicalAliasesOf(content: JsonObject): string[] {
  const aliases: string[] = [];
  const alias = content["alias"];
  if (alias !== undefined && alias !== null) {
    if (typeof alias !== "string" || parseRoomAlias(alias) === undefined) throw new MatrixError("M_INVALID_PARAM", "alias is not a valid room alias", 400);
    aliases.push(alias);
  }
  const alt = content["alt_aliases"];
  if (alt !== undefined) {
    if (!Array.isArray(alt)) throw new MatrixError("M_INVALID_PARAM", "alt_aliases must be a list of room aliases", 400);
    for (const a of alt) {
      if (typeof a !== "string" || parseRoomAlias(a) === undefined) throw new MatrixError("M_INVALID_PARAM", "alt_aliases holds an invalid room alias", 400);
      aliases.push(a);
    }
  }
  return aliases;
}
