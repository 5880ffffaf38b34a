// Spaces (client-server-api#spaces): GET /rooms/{roomId}/hierarchy (space_hierarchy.yaml, v1.2), the
// space tree below a room walked depth first, each room the user may see with its summary and its
// m.space.child events; and its federation form, GET /_matrix/federation/v1/hierarchy/{roomId}
// (server-server-api#spaces), one space and its children as another server may see them.
//
// - A room is shown when the user may see its summary (room-summaries.ts mayPreview: joined or
//   invited, may join or knock, or the history is world_readable; not banned); a room not shown is
//   not entered.
// - Only spaces (m.room.create `type` m.space) have children here: "If the room is not a
//   space-room, [children_state] should be empty". A child is an m.space.child with a `via` list
//   (spaces.md: a child without `via` is removed), in the spec's order of children.
// - A child this server does not know is asked of the servers in its `via` with the federation
//   /hierarchy (spaces.md "Server behaviour"); what this server knows is read here instead of their
//   answer ("the local data should be used instead of the remote server's data"). A child the
//   answer lists as inaccessible, or none answers for, is left out.
// - Over federation a room is shown to the requesting server when it "could feasibly peek/join"
//   it (anyone may join or knock, world_readable history, one of its users joined or invited, or
//   joined to a room a restricted join rule allows), only for rooms this server is in; its root
//   otherwise is 404 M_NOT_FOUND, its children otherwise are `inaccessible_children`. Server ACLs
//   do not apply: /hierarchy is not among the endpoints server-server-api#server-access-control-lists-acls protects.
// - Pages: the `from` token names the root, the filters and how many rooms came before; the next
//   page walks the tree again and skips those (the answers of other servers are kept a minute, so
//   that the pages agree; a room seen twice, through a loop, is shown once).
import { MatrixError } from "../../core/errors.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import { allowedRoomIds } from "./restricted-joins.ts";
import { OPEN_JOIN_RULES, RESTRICTED_JOIN_RULES, SUMMARY_FIELDS, mayPreview, mayPreviewSummary, roomSummaryOf } from "./room-summaries.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";

/** A space as another server describes it (its federation /hierarchy answer, checked). */
export interface RemoteSpace {
  /** The space's summary (room_summary.yaml) with its `children_state`. */
  readonly room: JsonObject;
  /** Its children's summaries, by room ID (some with their own `children_state`). */
  readonly children: ReadonlyMap<string, JsonObject>;
  /** Its children the other server says we have no way to peek or join. */
  readonly inaccessible: ReadonlySet<string>;
}

/** How much asking other servers one walk may spend: a client waits on it. */
export interface RemoteWalkBudget {
  /** When (ms since the epoch) no more servers are asked. */
  readonly deadline: number;
  /** How many more requests may be sent. */
  requestsLeft: number;
}

/** Asks other servers about spaces (GET /_matrix/federation/v1/hierarchy/{roomId}). */
export interface RemoteHierarchy {
  /** The room as one of `via` describes it; undefined when none of them answers (or the budget is spent). */
  space(roomId: string, via: readonly string[], suggestedOnly: boolean, budget: RemoteWalkBudget): Promise<RemoteSpace | undefined>;
}

export interface HierarchyDeps {
  readonly serverName: string;
  readonly states: RoomStateReader;
  readonly directory: RoomDirectoryService;
  readonly membershipIndex: MembershipIndex;
}

export interface HierarchyRequest {
  readonly suggestedOnly: boolean;
  /** Rooms a page holds (greater than zero). */
  readonly limit: number;
  readonly maxDepth: number;
  readonly from: string | undefined;
}

/** Rooms a page holds by default and at most (space_hierarchy.yaml: "a default value, and ... a maximum"). */
export const HIERARCHY_LIMITS = { defaultLimit: 50, maxLimit: 1000, defaultMaxDepth: 50, maxDepth: 100 } as const;
/** How many rooms one walk visits at most. */
const MAX_ROOMS_WALKED = 5000;
/** What one walk may spend asking other servers: a client waits on it. */
const REMOTE_WALK_MS = 20_000;
const REMOTE_WALK_REQUESTS = 100;
/** How many children a federation answer summarises; the others are left out, to be asked of us one by one. */
const MAX_FEDERATION_CHILDREN = 200;

const SPACE_ROOM_TYPE = "m.space";
/** What the state map's keys of m.room.member events start with (stateMapKey: type, NUL, state key). */
const MEMBER_KEY_PREFIX = stateMapKey("m.room.member", "");

/** What a `from` token carries: the first request's root and filters, and the rooms already served. */
interface PageToken {
  readonly root: string;
  readonly suggestedOnly: boolean;
  readonly maxDepth: number;
  readonly served: number;
}

function invalidParam(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

export function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify([token.root, token.suggestedOnly, token.maxDepth, token.served])).toString("base64url");
}

function decodePageToken(text: string): PageToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalidParam("Unknown from token");
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalidParam("Unknown from token");
  const [root, suggestedOnly, maxDepth, served] = parsed as unknown[];
  if (typeof root !== "string" || typeof suggestedOnly !== "boolean" || !Number.isSafeInteger(maxDepth) || !Number.isSafeInteger(served) || (served as number) < 0) {
    throw invalidParam("Unknown from token");
  }
  return { root, suggestedOnly, maxDepth: maxDepth as number, served: served as number };
}

/** An m.space.child of a space, as the walk orders and serves it. */
interface Child {
  readonly roomId: string;
  readonly order: string | undefined;
  readonly ts: number;
  readonly suggested: boolean;
  /** The servers to ask about the child when it is not known here. */
  readonly via: readonly string[];
  readonly stripped: JsonObject;
}

/** A room of the walk still to visit. */
interface WalkEntry {
  readonly roomId: string;
  readonly depth: number;
  readonly state?: RoomState | undefined;
  readonly via?: readonly string[] | undefined;
  /** What its parent's remote answer says of it (`children`), if that came from another server. */
  readonly described?: JsonObject | undefined;
  /** Its parent's remote answer lists it in `inaccessible_children`. */
  readonly inaccessible?: boolean | undefined;
}

/** A room the walk shows: its chunk, its children, and the remote answer that described them, if any. */
interface Visited {
  readonly chunk: JsonObject;
  readonly children: readonly Child[];
  readonly space?: RemoteSpace | undefined;
}

/**
 * spaces.md "Ordering of children within a space": those with a valid `order` first, by code
 * points, then the rest by timestamp; ties by timestamp, then by room ID.
 */
export function compareChildren(a: Pick<Child, "roomId" | "order" | "ts">, b: Pick<Child, "roomId" | "order" | "ts">): number {
  if (a.order !== undefined && b.order === undefined) return -1;
  if (a.order === undefined && b.order !== undefined) return 1;
  if (a.order !== undefined && b.order !== undefined && a.order !== b.order) return codePointCompare(a.order, b.order);
  if (a.ts !== b.ts) return a.ts - b.ts;
  return codePointCompare(a.roomId, b.roomId);
}

function codePointCompare(a: string, b: string): number {
  const [x, y] = [Array.from(a, (c) => c.codePointAt(0) ?? 0), Array.from(b, (c) => c.codePointAt(0) ?? 0)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** m.space.child `order`: a string of at most 50 characters between \x20 and \x7E; anything else counts as absent. */
function validOrder(order: unknown): string | undefined {
  return typeof order === "string" && order.length <= 50 && /^[\x20-\x7E]*$/.test(order) ? order : undefined;
}

/**
 * The m.space.child event (type, state_key, sender, content, origin_server_ts) as a child, or
 * undefined when it is none (spaces.md: no `via`, "such as through redaction or otherwise clearing
 * the content") or is filtered out by suggested_only.
 */
function childOf(stateKey: string, sender: string, content: JsonObject, ts: number, suggestedOnly: boolean): Child | undefined {
  const via = content["via"];
  if (!Array.isArray(via) || via.length === 0) return undefined;
  const suggested = content["suggested"] === true;
  if (suggestedOnly && !suggested) return undefined;
  return {
    roomId: stateKey,
    order: validOrder(content["order"]),
    ts,
    suggested,
    via: via.filter((v): v is string => typeof v === "string"),
    stripped: { type: "m.space.child", state_key: stateKey, sender, content, origin_server_ts: ts },
  };
}

/** A remote summary's children (its `children_state`), as the local ones: only a space has them, in the spec's order. */
export function remoteChildren(room: JsonObject, suggestedOnly: boolean): Child[] {
  const events = room["children_state"];
  if (room["room_type"] !== SPACE_ROOM_TYPE || !Array.isArray(events)) return [];
  const children: Child[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    if (!isJsonObject(e) || e["type"] !== "m.space.child") continue;
    const [stateKey, sender, content, ts] = [e["state_key"], e["sender"], e["content"], e["origin_server_ts"]];
    if (typeof stateKey !== "string" || !stateKey.startsWith("!") || seen.has(stateKey) || typeof sender !== "string" || !isJsonObject(content)) continue;
    if (typeof ts !== "number" || !Number.isSafeInteger(ts)) continue;
    const child = childOf(stateKey, sender, content, ts, suggestedOnly);
    if (child === undefined) continue;
    seen.add(stateKey);
    children.push(child);
  }
  return children.sort(compareChildren);
}


export class SpaceHierarchyService {
  readonly #deps: HierarchyDeps;
  #remote: RemoteHierarchy | undefined;

  constructor(deps: HierarchyDeps) {
    this.#deps = deps;
  }

  /** Plugs in the federation side: children not known here are asked of their servers. */
  useRemote(remote: RemoteHierarchy): void {
    this.#remote = remote;
  }

  /** The federation side, once plugged in (room summaries ask it too). */
  get remote(): RemoteHierarchy | undefined {
    return this.#remote;
  }

  /** GET /rooms/{roomId}/hierarchy for `userId`. */
  async hierarchy(userId: string, roomId: string, request: HierarchyRequest): Promise<JsonObject> {
    const { limit, maxDepth } = request;
    if (limit <= 0) throw invalidParam("limit must be an integer greater than zero");
    let served = 0;
    if (request.from !== undefined) {
      const token = decodePageToken(request.from);
      // space_hierarchy.yaml 400: "suggested_only or max_depth changed during pagination".
      if (token.root !== roomId || token.suggestedOnly !== request.suggestedOnly || token.maxDepth !== maxDepth) {
        throw invalidParam("suggested_only and max_depth cannot change on paginated requests");
      }
      served = token.served;
    }

    const root = await this.#deps.states.current(roomId);
    if (root === undefined || !(await mayPreview(root, userId, this.#deps.membershipIndex))) {
      throw new MatrixError("M_FORBIDDEN", "You are not allowed to view this room", 403);
    }

    // Depth first: a room, then the whole subtree of each of its children in order.
    const rooms: JsonObject[] = [];
    const seen = new Set<string>();
    const stack: WalkEntry[] = [{ roomId, depth: 0, state: root }];
    const budget: RemoteWalkBudget = { deadline: Date.now() + REMOTE_WALK_MS, requestsLeft: REMOTE_WALK_REQUESTS };
    let shown = 0;
    let more = false;
    while (stack.length > 0 && seen.size < MAX_ROOMS_WALKED) {
      const next = stack.pop() as WalkEntry;
      if (seen.has(next.roomId)) continue;
      seen.add(next.roomId);
      const visited = await this.#visit(next, userId, request.suggestedOnly, budget);
      if (visited === undefined) continue;
      if (shown >= served + limit) {
        more = true;
        break;
      }
      if (shown >= served) rooms.push(visited.chunk);
      shown++;
      if (next.depth >= maxDepth) continue;
      for (const child of [...visited.children].reverse()) {
        stack.push({
          roomId: child.roomId,
          depth: next.depth + 1,
          via: child.via,
          described: visited.space?.children.get(child.roomId),
          inaccessible: visited.space?.inaccessible.has(child.roomId),
        });
      }
    }
    const out: JsonObject = { rooms };
    if (more) out["next_batch"] = encodePageToken({ root: roomId, suggestedOnly: request.suggestedOnly, maxDepth, served: served + rooms.length });
    return out;
  }

  /**
   * GET /_matrix/federation/v1/hierarchy/{roomId} for the server `origin` (server-server-api#spaces):
   * the room and those of its children known here, summarised when `origin` may see them and
   * listed in `inaccessible_children` otherwise.
   */
  async federationHierarchy(origin: string, roomId: string, suggestedOnly: boolean): Promise<JsonObject> {
    const root = await this.#known(roomId);
    // space_hierarchy.yaml (server-server) 404: "The room is not known to the server or the requesting server is unable to peek/join it".
    if (root === undefined || !(await this.#serverMayPreview(root, origin))) throw new MatrixError("M_NOT_FOUND", "Room does not exist", 404);
    const rootChildren = await this.#children(root, suggestedOnly);
    const children: JsonObject[] = [];
    const inaccessible: string[] = [];
    for (const child of rootChildren.slice(0, MAX_FEDERATION_CHILDREN)) {
      const state = await this.#known(child.roomId);
      // space_hierarchy.yaml (server-server) `inaccessible_children`: "Rooms which the responding server cannot provide details on will be outright excluded".
      if (state === undefined) continue;
      // `children`: "Rooms which the requesting server cannot peek/join will be excluded"; `inaccessible_children` lists them.
      if (await this.#serverMayPreview(state, origin)) children.push(await this.#chunk(state, await this.#children(state, suggestedOnly)));
      else inaccessible.push(child.roomId);
    }
    return { room: await this.#chunk(root, rootChildren), children, inaccessible_children: inaccessible };
  }

  // A room of the walk, if the user may see it: read here when known, else asked of its servers.
  async #visit(entry: WalkEntry, userId: string, suggestedOnly: boolean, budget: RemoteWalkBudget): Promise<Visited | undefined> {
    const state = entry.state ?? (await this.#deps.states.current(entry.roomId));
    if (state !== undefined) {
      if (!(await mayPreview(state, userId, this.#deps.membershipIndex))) return undefined;
      const children = await this.#children(state, suggestedOnly);
      return { chunk: await this.#chunk(state, children), children };
    }
    // spaces.md "Server behaviour": "In the case where the server does not have access to the state of a child room, it can request the information over federation".
    const remote = this.#remote;
    // space_hierarchy.yaml (server-server) `inaccessible_children`: "the requesting server should consider these room IDs as not accessible from anywhere. They should not be re-requested."
    if (remote === undefined || entry.via === undefined || entry.inaccessible === true) return undefined;
    let room = entry.described;
    let space: RemoteSpace | undefined;
    // A child summarised in its parent's answer is asked again only when it is a space whose children the answer leaves out.
    if (room === undefined || (room["room_type"] === SPACE_ROOM_TYPE && !Array.isArray(room["children_state"]))) {
      space = await remote.space(entry.roomId, entry.via, suggestedOnly, budget);
      if (space === undefined) return undefined;
      room = space.room;
    }
    // The federation answer holds what our server may see: "The requesting server is responsible for filtering the results further down for the user's request".
    if (!(await mayPreviewSummary(room, userId, this.#deps.membershipIndex))) return undefined;
    const children = remoteChildren(room, suggestedOnly);
    const chunk: JsonObject = {};
    for (const field of SUMMARY_FIELDS) if (room[field] !== undefined) chunk[field] = room[field];
    chunk["children_state"] = children.map((c) => c.stripped);
    return { chunk, children, space };
  }

  /**
   * space_hierarchy.yaml (server-server): what "the requesting server could feasibly peek/join":
   * a room anyone may join or knock on, one whose history is world_readable, one where a user of
   * that server is joined or invited, and a restricted one where a user of that server is joined to
   * an allowed room.
   */
  async #serverMayPreview(state: RoomState, server: string): Promise<boolean> {
    const joinRule = (await state.stringField("m.room.join_rules", "join_rule")) ?? "public";
    if (OPEN_JOIN_RULES.has(joinRule)) return true;
    if ((await state.stringField("m.room.history_visibility", "history_visibility")) === "world_readable") return true;
    for (const key of state.map.keys()) {
      if (!key.startsWith(MEMBER_KEY_PREFIX)) continue;
      const stateKey = key.slice(MEMBER_KEY_PREFIX.length);
      if (serverNameOf(stateKey) !== server) continue;
      const membership = await state.membershipOf(stateKey);
      if (membership === "join" || membership === "invite") return true;
    }
    if (!RESTRICTED_JOIN_RULES.has(joinRule)) return false;
    for (const allowed of allowedRoomIds((await state.content("m.room.join_rules")) ?? {})) {
      if ((await this.#deps.membershipIndex.serversInRoom(allowed)).includes(server)) return true;
    }
    return false;
  }

  // A room this server is in (one of our users joined): one it left has no current state to tell.
  async #known(roomId: string): Promise<RoomState | undefined> {
    const state = await this.#deps.states.current(roomId);
    if (state === undefined) return undefined;
    return (await this.#deps.membershipIndex.serversInRoom(roomId)).includes(this.#deps.serverName) ? state : undefined;
  }

  // A space's children, in the spec's order (none for a room that is not a space).
  async #children(state: RoomState, suggestedOnly: boolean): Promise<Child[]> {
    if ((await state.stringField("m.room.create", "type")) !== SPACE_ROOM_TYPE) return [];
    const children: Child[] = [];
    for (const key of state.map.keys()) {
      const [type, stateKey] = key.split("\u0000") as [string, string];
      if (type !== "m.space.child") continue;
      const event = await state.event(type, stateKey);
      if (event === undefined) continue;
      const child = childOf(stateKey, event.sender, event.content, event.originServerTs, suggestedOnly);
      if (child !== undefined) children.push(child);
    }
    return children.sort(compareChildren);
  }

  // SpaceHierarchyRoomsChunk: the room's summary and children_state.
  async #chunk(state: RoomState, children: readonly Child[]): Promise<JsonObject> {
    return { ...(await roomSummaryOf(state, this.#deps.directory)), children_state: children.map((c) => c.stripped) };
  }
}
