// Other servers' spaces for our clients' GET /rooms/{roomId}/hierarchy (spaces.md "Server
// behaviour": "In the case where the server does not have access to the state of a child room, it
// can request the information over federation"): GET /_matrix/federation/v1/hierarchy/{roomId}
// (server-server space_hierarchy.yaml) asked of the servers in the child's `via`, one after the
// other, the first good answer believed. The answer comes from a server we do not trust: it is
// checked field by field, and kept only if it describes the room asked about.
//
// "The response to this endpoint should be cached for a period of time": answers (and failures,
// for the `via` asked) are kept a minute, so that the pages of one walk agree, and a walk in
// flight shares them; the cache holds a bounded number of answers of bounded size.
import { parseServerName } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { RemoteHierarchy, RemoteSpace, RemoteWalkBudget } from "../rooms/hierarchy.ts";
import type { QueryParams } from "./client.ts";
import { errorText } from "./event-fetcher.ts";
import { checkedRoom } from "./public-rooms.ts";

export interface HierarchyClient {
  get(destination: string, path: string, options?: { query?: QueryParams; timeoutMs?: number; maxResponseBytes?: number }): Promise<JsonObject>;
}

interface Log {
  info(obj: object, msg: string): void;
}

/** The `via` servers asked for one room, at most. */
const MAX_SERVERS = 3;
/** One server's answer, at most this long. */
const TIMEOUT_MS = 10_000;
/** A space's answer: its children's summaries; a server answering more is not answering that. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const CACHE_MS = 60_000;
const MAX_CACHED = 500;
/** The answers kept, in characters of their JSON, at most. */
const MAX_CACHED_CHARS = 32 * 1024 * 1024;
/** The m.space.child events and children kept of one answer. */
const MAX_CHILDREN = 1000;

const enc = encodeURIComponent;

interface Cached {
  readonly at: number;
  readonly answer: Promise<RemoteSpace | undefined>;
  /** The answer's size once it came (0 before, and for a failure). */
  chars: number;
}

export class RemoteSpaces implements RemoteHierarchy {
  readonly #client: HierarchyClient;
  readonly #serverName: string;
  readonly #now: () => number;
  readonly #logger: Log | undefined;
  readonly #cache = new Map<string, Cached>();
  #cachedChars = 0;

  constructor(client: HierarchyClient, serverName: string, options: { now?: () => number; logger?: Log } = {}) {
    this.#client = client;
    this.#serverName = serverName;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  async space(roomId: string, via: readonly string[], suggestedOnly: boolean, budget: RemoteWalkBudget): Promise<RemoteSpace | undefined> {
    const servers = [...new Set(via)].filter((s) => s !== this.#serverName && parseServerName(s) !== undefined).slice(0, MAX_SERVERS);
    if (servers.length === 0) return undefined;
    const key = JSON.stringify([roomId, suggestedOnly, servers]);
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached !== undefined && now - cached.at < CACHE_MS) return await cached.answer;
    // What a walk may spend is spent: the room is left out (and nothing is kept of it).
    if (budget.requestsLeft <= 0 || now >= budget.deadline) return undefined;
    const asked = this.#ask(roomId, servers, suggestedOnly, budget);
    const answer = asked.then((a) => a.space);
    const entry: Cached = { at: now, answer, chars: 0 };
    this.#remember(key, entry);
    const { space, cutShort } = await asked;
    // A failure is kept only when every server was asked: one the walk's budget cut short is asked again.
    if (space === undefined && cutShort && this.#cache.get(key) === entry) this.#forget(key, entry);
    if (space !== undefined && this.#cache.get(key) === entry) {
      entry.chars = JSON.stringify([space.room, [...space.children.values()]]).length;
      this.#cachedChars += entry.chars;
      this.#trim();
    }
    return space;
  }

  #remember(key: string, entry: Cached): void {
    const now = this.#now();
    if (this.#cache.size >= MAX_CACHED) for (const [k, v] of this.#cache) if (now - v.at >= CACHE_MS) this.#forget(k, v);
    const old = this.#cache.get(key);
    if (old !== undefined) this.#forget(key, old);
    this.#cache.set(key, entry);
    this.#trim();
  }

  // The oldest answers go first while there are too many, or too large in all.
  #trim(): void {
    for (const [k, v] of this.#cache) {
      if (this.#cache.size <= MAX_CACHED && this.#cachedChars <= MAX_CACHED_CHARS) break;
      this.#forget(k, v);
    }
  }

  #forget(key: string, entry: Cached): void {
    this.#cache.delete(key);
    this.#cachedChars -= entry.chars;
  }

  async #ask(roomId: string, servers: readonly string[], suggestedOnly: boolean, budget: RemoteWalkBudget): Promise<{ space?: RemoteSpace; cutShort: boolean }> {
    // suggested_only: "Optional (default false)".
    const query: QueryParams = suggestedOnly ? { suggested_only: "true" } : {};
    for (const server of servers) {
      const timeoutMs = Math.min(TIMEOUT_MS, budget.deadline - this.#now());
      if (timeoutMs <= 0 || budget.requestsLeft <= 0) return { cutShort: true };
      budget.requestsLeft--;
      try {
        const answer = await this.#client.get(server, `/_matrix/federation/v1/hierarchy/${enc(roomId)}`, { query, timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES });
        const space = checkedSpace(answer, roomId);
        if (space !== undefined) return { space, cutShort: false };
        this.#logger?.info({ server, roomId }, "federation: /hierarchy answered something else than the space");
      } catch (err) {
        // A 404 is the server's "not known here, or not for you" (space_hierarchy.yaml): the next one may know it.
        this.#logger?.info({ server, roomId, err: errorText(err) }, "federation: /hierarchy failed");
      }
    }
    // A server given less time than its own because the walk's deadline came is cut short too.
    return { cutShort: this.#now() >= budget.deadline };
  }
}

/** room_summary.yaml (over public_rooms_chunk.yaml): the required fields, with their types; each optional one kept only if well-typed. */
export function checkedSummary(value: JsonValue | undefined): JsonObject | undefined {
  const room = checkedRoom(value);
  if (room === undefined || !isJsonObject(value)) return undefined;
  for (const key of ["encryption", "room_version"]) {
    const field = value[key];
    if (typeof field === "string") room[key] = field;
  }
  const allowed = value["allowed_room_ids"];
  if (Array.isArray(allowed)) room["allowed_room_ids"] = allowed.filter((id): id is string => typeof id === "string" && id.startsWith("!"));
  const children = value["children_state"];
  if (Array.isArray(children)) room["children_state"] = children.slice(0, MAX_CHILDREN).flatMap((e) => checkedChildEvent(e) ?? []);
  return room;
}

/** children_state's items: stripped m.space.child events with `origin_server_ts`. */
function checkedChildEvent(value: JsonValue): JsonObject | undefined {
  if (!isJsonObject(value) || value["type"] !== "m.space.child") return undefined;
  const [stateKey, sender, content, ts] = [value["state_key"], value["sender"], value["content"], value["origin_server_ts"]];
  if (typeof stateKey !== "string" || !stateKey.startsWith("!") || typeof sender !== "string" || !isJsonObject(content)) return undefined;
  if (typeof ts !== "number" || !Number.isSafeInteger(ts)) return undefined;
  return { type: "m.space.child", state_key: stateKey, sender, content, origin_server_ts: ts };
}

/** The 200 answer of space_hierarchy.yaml (server-server): `room` (the one asked about, with `children_state`), `children`, `inaccessible_children`. */
export function checkedSpace(answer: JsonObject, roomId: string): RemoteSpace | undefined {
  const room = checkedSummary(answer["room"]);
  if (room === undefined || room["room_id"] !== roomId) return undefined;
  // `children_state` is required of `room`; "If the room is not a space-room, this should be empty".
  if (!Array.isArray(room["children_state"])) room["children_state"] = [];
  const listed = new Set((room["children_state"] as JsonObject[]).map((e) => e["state_key"] as string));
  // Only the room's own children are believed: the answer says nothing of other rooms.
  const children = new Map<string, JsonObject>();
  const rawChildren = answer["children"];
  for (const value of Array.isArray(rawChildren) ? rawChildren.slice(0, MAX_CHILDREN) : []) {
    const child = checkedSummary(value);
    if (child !== undefined && listed.has(child["room_id"] as string)) children.set(child["room_id"] as string, child);
  }
  const inaccessible = new Set<string>();
  const rawInaccessible = answer["inaccessible_children"];
  for (const id of Array.isArray(rawInaccessible) ? rawInaccessible : []) {
    if (typeof id === "string" && listed.has(id) && !children.has(id)) inaccessible.add(id);
  }
  return { room, children, inaccessible };
}
