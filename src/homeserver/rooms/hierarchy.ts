// Spaces (client-server-api#spaces): GET /rooms/{roomId}/hierarchy (space_hierarchy.yaml, v1.2), the
// space tree below a room walked depth first, each room the user may see with its summary and its
// m.space.child events.
//
// - A room is shown when the user may see its summary (room-summaries.ts mayPreview: joined or
//   invited, may join or knock, or the history is world_readable; not banned); a room not shown is
//   not entered.
// - Only spaces (m.room.create `type` m.space) have children here: "If the room is not a
//   space-room, [children_state] should be empty". A child is an m.space.child with a `via` list
//   (spaces.md: a child without `via` is removed), in the spec's order of children.
// - Rooms this server does not know are left out: asking their servers (the federation /hierarchy)
//   is not done yet.
// - Pages: the `from` token names the root, the filters and how many rooms came before; the next
//   page walks the tree again and skips those (the tree is small and local; a room seen twice,
//   through a loop, is shown once).
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import { mayPreview, roomSummaryOf } from "./room-summaries.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";

export interface HierarchyDeps {
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

const SPACE_ROOM_TYPE = "m.space";

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
  readonly stripped: JsonObject;
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

export class SpaceHierarchyService {
  readonly #deps: HierarchyDeps;

  constructor(deps: HierarchyDeps) {
    this.#deps = deps;
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
    const stack: Array<{ roomId: string; depth: number; state?: RoomState }> = [{ roomId, depth: 0, state: root }];
    let shown = 0;
    let more = false;
    while (stack.length > 0 && seen.size < MAX_ROOMS_WALKED) {
      const next = stack.pop() as { roomId: string; depth: number; state?: RoomState };
      if (seen.has(next.roomId)) continue;
      seen.add(next.roomId);
      const state = next.state ?? (await this.#deps.states.current(next.roomId));
      if (state === undefined || !(await mayPreview(state, userId, this.#deps.membershipIndex))) continue;
      if (shown >= served + limit) {
        more = true;
        break;
      }
      const children = await this.#children(state, request.suggestedOnly);
      if (shown >= served) rooms.push(await this.#chunk(state, children));
      shown++;
      if (next.depth < maxDepth) for (const child of [...children].reverse()) stack.push({ roomId: child.roomId, depth: next.depth + 1 });
    }
    const out: JsonObject = { rooms };
    if (more) out["next_batch"] = encodePageToken({ root: roomId, suggestedOnly: request.suggestedOnly, maxDepth, served: served + rooms.length });
    return out;
  }

  // A space's children, in the spec's order (none for a room that is not a space).
  async #children(state: RoomState, suggestedOnly: boolean): Promise<Child[]> {
    if ((await state.stringField("m.room.create", "type")) !== SPACE_ROOM_TYPE) return [];
    const children: Child[] = [];
    for (const key of state.map.keys()) {
      const [type, stateKey] = key.split("\u0000") as [string, string];
      if (type !== "m.space.child") continue;
      const event = await state.event(type, stateKey);
      const via = event?.content["via"];
      // spaces.md: a child without `via` (a redacted or cleared event) is no child.
      if (event === undefined || !Array.isArray(via) || via.length === 0) continue;
      const suggested = event.content["suggested"] === true;
      if (suggestedOnly && !suggested) continue;
      children.push({
        roomId: stateKey,
        order: validOrder(event.content["order"]),
        ts: event.originServerTs,
        suggested,
        stripped: { type, state_key: stateKey, sender: event.sender, content: event.content, origin_server_ts: event.originServerTs },
      });
    }
    return children.sort(compareChildren);
  }

  // SpaceHierarchyRoomsChunk: the room's summary and children_state.
  async #chunk(state: RoomState, children: readonly Child[]): Promise<JsonObject> {
    return { ...(await roomSummaryOf(state, this.#deps.directory)), children_state: children.map((c) => c.stripped) };
  }
}
