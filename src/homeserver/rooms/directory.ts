// The published room directory (client-server-api#published-room-directory, list_public_rooms.yaml):
// which local rooms are listed, on the main list or an application service's network
// (directory-networks.ts), and the listing itself with its summaries, a search term, room types and
// pagination. Ordered by joined members, largest first (the order the spec recommends).
import { MatrixError } from "../../core/errors.ts";
import { parseRoomId } from "../../core/identifiers/index.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import { isJsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AppserviceRoomDirectoryStore } from "../../storage/stores/appservice-room-directory.ts";
import type { RoomDirectoryStore } from "../../storage/stores/room-directory.ts";
import { listedRoomIds, MAIN_LIST, type DirectoryNetwork } from "./directory-networks.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";
import type { HistoryVisibility } from "./visibility.ts";

export type DirectoryVisibility = "public" | "private";

export interface PublicRoomsQuery {
  readonly limit?: number | undefined;
  readonly since?: string | undefined;
  readonly genericSearchTerm?: string | undefined;
  /** Room types to keep; null stands for rooms without a type. Undefined: every room. */
  readonly roomTypes?: ReadonlyArray<string | null> | undefined;
}

export interface RoomDirectoryDeps {
  readonly store: RoomDirectoryStore;
  /** The rooms application services publish under their networks. */
  readonly networks: AppserviceRoomDirectoryStore;
  readonly states: RoomStateReader;
  readonly membershipIndex: MembershipIndex;
  readonly visibility: HistoryVisibility;
  readonly isAdmin: (userId: string) => Promise<boolean>;
  readonly now?: () => number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

export class RoomDirectoryService {
  readonly #deps: RoomDirectoryDeps;
  /** The IDs of the application services registered (their networks are listed). */
  #appservices: readonly string[] = [];

  constructor(deps: RoomDirectoryDeps) {
    this.#deps = deps;
  }

  /** The application services registered now, whose networks' rooms are listed. */
  useAppservices(appserviceIds: readonly string[]): void {
    this.#appservices = [...appserviceIds];
  }

  /** GET /directory/list/room/{roomId}: 404 for a room not known here. */
  async getVisibility(roomId: string): Promise<DirectoryVisibility> {
    if (parseRoomId(roomId) === undefined || !(await this.#deps.states.isKnown(roomId))) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    return (await this.#deps.store.isPublished(roomId)) ? "public" : "private";
  }

  /**
   * PUT /directory/list/room/{roomId}: by a joined member who may change the room's canonical
   * alias (the usual "room admin" test), or a server admin.
   */
  async setVisibility(requester: Requester, roomId: string, visibility: DirectoryVisibility): Promise<void> {
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    const state = await this.#deps.states.current(roomId);
    if (state === undefined) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    if (!(await this.#deps.isAdmin(requester.userId))) {
      const mayPublish =
        (await state.membershipOf(requester.userId)) === "join" && (await state.maySend(requester.userId, "m.room.canonical_alias", ""));
      if (!mayPublish) throw new MatrixError("M_FORBIDDEN", "You may not change this room's visibility in the directory", 403);
    }
    await this.publish(roomId, visibility === "public");
  }

  /** Lists or unlists a room without checks (room creation, upgrades). */
  async publish(roomId: string, published: boolean): Promise<void> {
    await this.#deps.store.setPublished(roomId, published, (this.#deps.now ?? Date.now)());
  }

  async isPublished(roomId: string): Promise<boolean> {
    return await this.#deps.store.isPublished(roomId);
  }

  /**
   * PUT /directory/list/appservice/{networkId}/{roomId} (appservice_room_directory.yaml): "cannot be
   * invoked by users who are not identified as application services" (403). The spec lists no
   * error, but as on the main list a room not known here cannot be published (404); unpublishing
   * always succeeds, so a service can take down a room it no longer knows.
   */
  async setNetworkVisibility(requester: Requester, networkId: string, roomId: string, visibility: DirectoryVisibility): Promise<void> {
    const appserviceId = requester.appservice?.id;
    if (appserviceId === undefined) throw new MatrixError("M_FORBIDDEN", "Only an application service may change its room directory", 403);
    const published = visibility === "public";
    if (published && (parseRoomId(roomId) === undefined || !(await this.#deps.states.isKnown(roomId)))) {
      throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    }
    await this.#deps.networks.setPublished(appserviceId, networkId, roomId, published, (this.#deps.now ?? Date.now)());
  }

  /** GET and POST /publicRooms for this server: the main list, or a network's, or all of them. */
  async publicRooms(query: PublicRoomsQuery, network: DirectoryNetwork = MAIN_LIST): Promise<JsonObject> {
    const limit = Math.min(Math.max(query.limit ?? DEFAULT_LIMIT, 0), MAX_LIMIT);
    const offset = parseSince(query.since);
    const term = query.genericSearchTerm?.trim().toLowerCase();
    const chunks: JsonObject[] = [];
    for (const roomId of await listedRoomIds(network, () => this.#deps.store.published(), this.#deps.networks, this.#appservices)) {
      const state = await this.#deps.states.current(roomId);
      if (state === undefined) continue;
      const chunk = await this.chunkOf(state);
      if (query.roomTypes !== undefined && !query.roomTypes.includes((chunk["room_type"] as string | undefined) ?? null)) continue;
      if (term !== undefined && term !== "" && !matches(chunk, term)) continue;
      chunks.push(chunk);
    }
    chunks.sort((a, b) => (b["num_joined_members"] as number) - (a["num_joined_members"] as number) || compare(a["room_id"], b["room_id"]));
    const page = chunks.slice(offset, offset + limit);
    const out: JsonObject = { chunk: page, total_room_count_estimate: chunks.length };
    if (offset + limit < chunks.length) out["next_batch"] = `o${offset + limit}`;
    if (offset > 0) out["prev_batch"] = `o${Math.max(0, offset - limit)}`;
    return out;
  }

  /** public_rooms_chunk.yaml: what the directory (and a room summary) says of a room. */
  async chunkOf(state: RoomState): Promise<JsonObject> {
    const chunk: JsonObject = {
      room_id: state.roomId,
      num_joined_members: (await this.#deps.membershipIndex.joinedMembers(state.roomId)).length,
      world_readable: (await this.#deps.visibility.settingIn(state.map)) === "world_readable",
      guest_can_join: (await state.stringField("m.room.guest_access", "guest_access")) === "can_join",
      join_rule: (await state.stringField("m.room.join_rules", "join_rule")) ?? "public",
    };
    const name = await state.stringField("m.room.name", "name");
    if (name !== undefined && name !== "") chunk["name"] = name;
    const topic = await state.stringField("m.room.topic", "topic");
    if (topic !== undefined && topic !== "") chunk["topic"] = topic;
    const alias = await state.stringField("m.room.canonical_alias", "alias");
    if (alias !== undefined) chunk["canonical_alias"] = alias;
    const avatar = await state.stringField("m.room.avatar", "url");
    if (avatar !== undefined && avatar !== "") chunk["avatar_url"] = avatar;
    const type = await state.stringField("m.room.create", "type");
    if (type !== undefined) chunk["room_type"] = type;
    return chunk;
  }
}

/** The body of POST /publicRooms, or the query of GET, as a PublicRoomsQuery. */
export function publicRoomsQuery(limit: JsonValue | undefined, since: JsonValue | undefined, filter: JsonValue | undefined): PublicRoomsQuery {
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0)) {
    throw new MatrixError("M_INVALID_PARAM", "limit must be a non-negative integer", 400);
  }
  if (since !== undefined && typeof since !== "string") throw new MatrixError("M_INVALID_PARAM", "since must be a string", 400);
  const f = isJsonObject(filter) ? filter : {};
  const term = f["generic_search_term"];
  const types = f["room_types"];
  return {
    limit,
    since,
    genericSearchTerm: typeof term === "string" ? term : undefined,
    roomTypes: Array.isArray(types) ? types.filter((t): t is string | null => typeof t === "string" || t === null) : undefined,
  };
}

function parseSince(since: string | undefined): number {
  if (since === undefined || since === "") return 0;
  const match = /^o(\d{1,9})$/.exec(since);
  if (match === null) throw new MatrixError("M_INVALID_PARAM", "Unknown pagination token", 400);
  return Number(match[1]);
}

/** The search term in the room's name, topic, canonical alias or ID (case-insensitive). */
function matches(chunk: JsonObject, term: string): boolean {
  return ["name", "topic", "canonical_alias", "room_id"].some((k) => {
    const value = chunk[k];
    return typeof value === "string" && value.toLowerCase().includes(term);
  });
}

function compare(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
