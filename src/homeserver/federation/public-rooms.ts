// Another server's published room directory for our clients (list_public_rooms.yaml `server`):
// asked with GET or POST /_matrix/federation/v1/publicRooms (server-server public_rooms.yaml).
// The answer is checked entry by entry (it comes from another server); unfiltered pages are kept
// a minute, since clients page and re-open room lists, and one request per page is in flight.
import { MatrixError } from "../../core/errors.ts";
import { parseServerName } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import { rememberRecent } from "../../core/recent-map.ts";
import type { QueryParams } from "./client.ts";
import { asMatrixError, isUnknownEndpoint } from "./invites.ts";

export interface PublicRoomsClient {
  get(destination: string, path: string, options?: { query?: QueryParams; timeoutMs?: number; maxResponseBytes?: number }): Promise<JsonObject>;
  post(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number; maxResponseBytes?: number }): Promise<JsonObject>;
}

/** What a client asked of the directory (the body of POST /publicRooms, or GET's query). */
export interface RemotePublicRoomsRequest {
  readonly limit?: number | undefined;
  readonly since?: string | undefined;
  readonly genericSearchTerm?: string | undefined;
  readonly roomTypes?: ReadonlyArray<string | null> | undefined;
  readonly includeAllNetworks?: boolean | undefined;
  readonly thirdPartyInstanceId?: string | undefined;
}

const PATH = "/_matrix/federation/v1/publicRooms";
/** A room list is small; a server answering more is not answering a room list. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 20_000;
const CACHE_MS = 60_000;
const MAX_CACHED = 1000;

interface Cached {
  readonly at: number;
  readonly answer: Promise<JsonObject>;
}

export class RemotePublicRooms {
  readonly #client: PublicRoomsClient;
  readonly #serverName: string;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();

  constructor(client: PublicRoomsClient, serverName: string, now: () => number = Date.now) {
    this.#client = client;
    this.#serverName = serverName;
    this.#now = now;
  }

  /** `server`'s directory page; MatrixError when the server cannot be asked or refuses. */
  async publicRooms(server: string, request: RemotePublicRoomsRequest): Promise<JsonObject> {
    if (parseServerName(server) === undefined) throw new MatrixError("M_INVALID_PARAM", "server is not a valid server name", 400);
    if (server === this.#serverName) throw new Error("our own directory is not asked over federation");
    const filtered = request.genericSearchTerm !== undefined || request.roomTypes !== undefined;
    if (filtered) return await this.#fetch(server, request, true);
    // Unfiltered pages are the same for every client: cached, and shared while in flight.
    const key = JSON.stringify([server, request.limit, request.since, request.includeAllNetworks, request.thirdPartyInstanceId]);
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached !== undefined && now - cached.at < CACHE_MS) return await cached.answer;
    const answer = this.#fetch(server, request, false);
    this.#remember(key, { at: now, answer });
    // A failure is not kept: the next client asks again.
    answer.catch(() => {
      if (this.#cache.get(key)?.answer === answer) this.#cache.delete(key);
    });
    return await answer;
  }

  async #fetch(server: string, request: RemotePublicRoomsRequest, filtered: boolean): Promise<JsonObject> {
    const options = { timeoutMs: TIMEOUT_MS, maxResponseBytes: MAX_RESPONSE_BYTES };
    try {
      if (!filtered) return checkedPage(await this.#client.get(server, PATH, { ...options, query: getQuery(request) }));
      const body: JsonObject = { filter: filterOf(request) };
      if (request.limit !== undefined) body["limit"] = request.limit;
      if (request.since !== undefined) body["since"] = request.since;
      if (request.includeAllNetworks !== undefined) body["include_all_networks"] = request.includeAllNetworks;
      if (request.thirdPartyInstanceId !== undefined) body["third_party_instance_id"] = request.thirdPartyInstanceId;
      try {
        return checkedPage(await this.#client.post(server, PATH, body, options));
      } catch (err) {
        // A server without the POST form (it came later than GET) lists everything: filtered here.
        if (!isUnknownEndpoint(err)) throw err;
      }
      const page = checkedPage(await this.#client.get(server, PATH, { ...options, query: getQuery(request) }));
      const chunk = (page["chunk"] as JsonObject[]).filter((room) => matchesFilter(room, request));
      return { ...page, chunk };
    } catch (err) {
      throw remoteError(server, err);
    }
  }

  #remember(key: string, entry: Cached): void {
    if (this.#cache.size >= MAX_CACHED) {
      const now = this.#now();
      for (const [k, v] of this.#cache) if (now - v.at >= CACHE_MS) this.#cache.delete(k);
    }
    rememberRecent(this.#cache, key, entry, MAX_CACHED);
  }
}

/**
 * The other server's refusal for our client: its own 4xx answers pass on (such as 403 when it does
 * not share its directory, 400 for a bad `since`), except those about our request to it (its
 * authorization, an endpoint it lacks), which would mislead the client: those, and failures to
 * reach it, are 502.
 */
function remoteError(server: string, err: unknown): MatrixError {
  if (err instanceof MatrixError) return err;
  const mapped = asMatrixError(err);
  const ours = mapped.status === 401 || mapped.errcode === "M_UNRECOGNIZED" || mapped.errcode === "M_UNKNOWN_TOKEN" || mapped.errcode === "M_MISSING_TOKEN";
  if (mapped.status >= 500 || ours) {
    const errcode = mapped.errcode === "M_CONNECTION_TIMEOUT" || mapped.errcode === "M_CONNECTION_FAILED" ? mapped.errcode : "M_UNKNOWN";
    return new MatrixError(errcode, `Failed to fetch the room list of ${server}`, 502);
  }
  return mapped;
}

function getQuery(request: RemotePublicRoomsRequest): QueryParams {
  return {
    limit: request.limit,
    since: request.since,
    include_all_networks: request.includeAllNetworks,
    third_party_instance_id: request.thirdPartyInstanceId,
  };
}

function filterOf(request: RemotePublicRoomsRequest): JsonObject {
  const filter: JsonObject = {};
  if (request.genericSearchTerm !== undefined) filter["generic_search_term"] = request.genericSearchTerm;
  if (request.roomTypes !== undefined) filter["room_types"] = [...request.roomTypes];
  return filter;
}

/** The filter applied here, as our own directory applies it (name, topic, alias or ID; room type). */
function matchesFilter(room: JsonObject, request: RemotePublicRoomsRequest): boolean {
  if (request.roomTypes !== undefined) {
    const type = typeof room["room_type"] === "string" ? room["room_type"] : null;
    if (!request.roomTypes.includes(type)) return false;
  }
  const term = request.genericSearchTerm?.trim().toLowerCase();
  if (term === undefined || term === "") return true;
  return ["name", "topic", "canonical_alias", "room_id"].some((k) => {
    const value = room[k];
    return typeof value === "string" && value.toLowerCase().includes(term);
  });
}

/** public_rooms_chunk.yaml (from another server): the required fields, with their types; each optional one kept only if well-typed. */
export function checkedRoom(value: JsonValue | undefined): JsonObject | undefined {
  if (!isJsonObject(value)) return undefined;
  const roomId = value["room_id"];
  const members = value["num_joined_members"];
  if (typeof roomId !== "string" || !roomId.startsWith("!")) return undefined;
  if (typeof members !== "number" || !Number.isSafeInteger(members) || members < 0) return undefined;
  const room: JsonObject = {
    room_id: roomId,
    num_joined_members: members,
    world_readable: value["world_readable"] === true,
    guest_can_join: value["guest_can_join"] === true,
    // `join_rule`: "When not present, the room is assumed to be public".
    join_rule: typeof value["join_rule"] === "string" ? value["join_rule"] : "public",
  };
  for (const key of ["name", "topic", "canonical_alias", "avatar_url", "room_type"]) {
    const field = value[key];
    if (typeof field === "string") room[key] = field;
  }
  return room;
}

/** public_rooms_response.yaml, from a server we do not trust: a `chunk` of rooms is required. */
function checkedPage(answer: JsonObject): JsonObject {
  const chunk = answer["chunk"];
  if (!Array.isArray(chunk)) throw new MatrixError("M_UNKNOWN", "The server answered something else than a room list", 502);
  const page: JsonObject = { chunk: chunk.map(checkedRoom).filter((r): r is JsonObject => r !== undefined) };
  for (const key of ["next_batch", "prev_batch"]) {
    const token = answer[key];
    if (typeof token === "string" && token !== "") page[key] = token;
  }
  const estimate = answer["total_room_count_estimate"];
  if (typeof estimate === "number" && Number.isSafeInteger(estimate) && estimate >= 0) page["total_room_count_estimate"] = estimate;
  return page;
}
