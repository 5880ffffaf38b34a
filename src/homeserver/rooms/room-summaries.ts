// Room summaries (client-server-api#room-summaries, room_summary.yaml, v1.15): what a client shows
// of a room before joining it: the directory's chunk of it with its room version, encryption, the
// rooms a restricted join rule allows and the requester's membership.
//
// Who may see a summary (room_summary.yaml lists the conditions for asking without a token; MSC3266
// gives the rest, those of space_hierarchy.yaml `rooms`): anyone when the join rule is public, knock
// or knock_restricted or the history is world_readable; besides, a user invited, joined or
// knocking, and for a restricted join rule a user joined to a room it allows; never a banned user.
// To anyone else the room does not exist (404). A room this server is not in is summarised from
// the answer of one of the `via` servers to GET /_matrix/federation/v1/hierarchy (the summary of
// the room itself: MSC3266 asks servers to use it), for signed-in users only: room_summary.yaml
// "Servers should consider rate limiting requests that require a federation request more heavily
// if the client is unauthenticated", and the simplest such limit is none.
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, parseRoomId } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { AliasService } from "./aliases.ts";
import type { RemoteHierarchy, RemoteWalkBudget } from "./hierarchy.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import { allowedRoomIds } from "./restricted-joins.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";

export interface RoomSummaryDeps {
  readonly states: RoomStateReader;
  readonly directory: RoomDirectoryService;
  readonly aliases: AliasService;
  readonly membershipIndex: MembershipIndex;
  /** The federation side of /hierarchy, once plugged in: other servers' summaries of rooms not known here. */
  readonly remote?: () => RemoteHierarchy | undefined;
}

/** How long a summary may wait for other servers, and how many it may ask. */
const REMOTE_SUMMARY_MS = 10_000;
const REMOTE_SUMMARY_REQUESTS = 3;

/** Join rules that let anyone see the room's summary (room_summary.yaml): joinable or knockable. */
export const OPEN_JOIN_RULES: ReadonlySet<string> = new Set(["public", "knock", "knock_restricted"]);
export const RESTRICTED_JOIN_RULES: ReadonlySet<string> = new Set(["restricted", "knock_restricted"]);
/** Memberships that let a user see the room's summary whatever its join rule. */
const MEMBER_MEMBERSHIPS: ReadonlySet<string> = new Set(["join", "invite", "knock"]);

function notFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Room not found", 404);
}

/** What the preview rule asks of a room, read only as far as the rule needs. */
export interface PreviewFacts {
  /** The user's membership, as far as this server knows. */
  membership(): Promise<string | undefined>;
  joinRule(): Promise<string>;
  worldReadable(): Promise<boolean>;
  /** The rooms a restricted join rule allows. */
  allowedRoomIds(): Promise<readonly string[]>;
}

/**
 * Whether the user (undefined: without an access token) may see a room's summary, in /room_summary
 * and /hierarchy: its room here (mayPreview) or one another server described (the hierarchy's).
 */
export async function mayPreviewFrom(facts: PreviewFacts, userId: string | undefined, index: MembershipIndex): Promise<boolean> {
  const membership = userId === undefined ? undefined : await facts.membership();
  if (membership !== undefined && MEMBER_MEMBERSHIPS.has(membership)) return true;
  if (membership === "ban") return false;
  const joinRule = await facts.joinRule();
  if (OPEN_JOIN_RULES.has(joinRule) || (await facts.worldReadable())) return true;
  if (userId === undefined || !RESTRICTED_JOIN_RULES.has(joinRule)) return false;
  for (const roomId of await facts.allowedRoomIds()) if ((await index.membershipOf(userId, roomId)) === "join") return true;
  return false;
}

/** mayPreviewFrom for a room whose state is here. */
export function mayPreview(state: RoomState, userId: string | undefined, index: MembershipIndex): Promise<boolean> {
  return mayPreviewFrom(
    {
      membership: () => (userId === undefined ? Promise.resolve(undefined) : state.membershipOf(userId)),
      joinRule: async () => (await state.stringField("m.room.join_rules", "join_rule")) ?? "public",
      worldReadable: async () => (await state.stringField("m.room.history_visibility", "history_visibility")) === "world_readable",
      allowedRoomIds: async () => allowedRoomIds((await state.content("m.room.join_rules")) ?? {}),
    },
    userId,
    index,
  );
}

/**
 * mayPreviewFrom for a room known only from another server's summary (room_summary.yaml fields):
 * the user's membership as this server knows it, the rest as the summary says.
 */
export function mayPreviewSummary(room: JsonObject, userId: string | undefined, index: MembershipIndex): Promise<boolean> {
  const roomId = room["room_id"];
  const allowed = room["allowed_room_ids"];
  return mayPreviewFrom(
    {
      membership: () => (typeof roomId === "string" && userId !== undefined ? index.membershipOf(userId, roomId) : Promise.resolve(undefined)),
      // public_rooms_chunk.yaml `join_rule`: "When not present, the room is assumed to be public".
      joinRule: () => Promise.resolve(typeof room["join_rule"] === "string" ? room["join_rule"] : "public"),
      worldReadable: () => Promise.resolve(room["world_readable"] === true),
      allowedRoomIds: () => Promise.resolve(Array.isArray(allowed) ? allowed.filter((id): id is string => typeof id === "string") : []),
    },
    userId,
    index,
  );
}

/** The fields of a room summary (room_summary.yaml) taken from another server's, its children apart. */
export const SUMMARY_FIELDS = [
  "room_id",
  "num_joined_members",
  "world_readable",
  "guest_can_join",
  "join_rule",
  "name",
  "topic",
  "canonical_alias",
  "avatar_url",
  "room_type",
  "allowed_room_ids",
  "encryption",
  "room_version",
] as const;

/** room_summary.yaml: the directory's chunk of the room, its version, encryption, and the rooms a restricted join rule allows. */
export async function roomSummaryOf(state: RoomState, directory: RoomDirectoryService): Promise<JsonObject> {
  const out: JsonObject = { ...(await directory.chunkOf(state)), room_version: state.version.id };
  const encryption = await state.stringField("m.room.encryption", "algorithm");
  if (encryption !== undefined) out["encryption"] = encryption;
  if (RESTRICTED_JOIN_RULES.has(out["join_rule"] as string)) out["allowed_room_ids"] = allowedRoomIds((await state.content("m.room.join_rules")) ?? {});
  return out;
}

export class RoomSummaryService {
  readonly #deps: RoomSummaryDeps;

  constructor(deps: RoomSummaryDeps) {
    this.#deps = deps;
  }

  /**
   * GET /room_summary/{roomIdOrAlias}, for `userId` (undefined: asked without an access token);
   * `via` names the servers to ask when the room is not known here.
   */
  async summary(roomIdOrAlias: string, userId: string | undefined, via: readonly string[] = []): Promise<JsonObject> {
    const { roomId, servers } = await this.#roomIdOf(roomIdOrAlias);
    const state = await this.#deps.states.current(roomId);
    if (state === undefined) return await this.#remoteSummary(roomId, userId, [...via, ...servers]);
    if (!(await mayPreview(state, userId, this.#deps.membershipIndex))) throw notFound();
    const out = await roomSummaryOf(state, this.#deps.directory);
    const membership = userId === undefined ? undefined : await state.membershipOf(userId);
    if (membership !== undefined) out["membership"] = membership;
    return out;
  }

  // room_summary.yaml `via`: "The servers to attempt to request the summary from when the local server cannot generate it".
  async #remoteSummary(roomId: string, userId: string | undefined, servers: readonly string[]): Promise<JsonObject> {
    const remote = this.#deps.remote?.();
    if (remote === undefined || userId === undefined || servers.length === 0) throw notFound();
    const budget: RemoteWalkBudget = { deadline: Date.now() + REMOTE_SUMMARY_MS, requestsLeft: REMOTE_SUMMARY_REQUESTS };
    const room = (await remote.space(roomId, servers, false, budget))?.room;
    // The other server answers for what our server may see; the user's own view is ours to apply.
    if (room === undefined || !(await mayPreviewSummary(room, userId, this.#deps.membershipIndex))) throw notFound();
    const out: JsonObject = {};
    for (const field of SUMMARY_FIELDS) if (room[field] !== undefined) out[field] = room[field];
    const membership = await this.#deps.membershipIndex.membershipOf(userId, roomId);
    if (membership !== undefined) out["membership"] = membership;
    return out;
  }

  /** The room, and for an alias the servers its directory named (other servers' aliases included). */
  async #roomIdOf(roomIdOrAlias: string): Promise<{ roomId: string; servers: readonly string[] }> {
    if (roomIdOrAlias.startsWith("#")) {
      if (parseRoomAlias(roomIdOrAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room alias", 400);
      try {
        return await this.#deps.aliases.resolve(roomIdOrAlias);
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === "M_NOT_FOUND") throw notFound();
        throw err;
      }
    }
    if (parseRoomId(roomIdOrAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room ID or alias", 400);
    return { roomId: roomIdOrAlias, servers: [] };
  }
}
