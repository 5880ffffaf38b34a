// Room summaries (client-server-api#room-summaries, room_summary.yaml, v1.15): what a client shows
// of a room before joining it: the directory's chunk of it with its room version, encryption, the
// rooms a restricted join rule allows and the requester's membership.
//
// Who may see a summary (room_summary.yaml lists the conditions for asking without a token; MSC3266
// gives the rest, those of space_hierarchy.yaml `rooms`): anyone when the join rule is public, knock
// or knock_restricted or the history is world_readable; besides, a user invited, joined or
// knocking, and for a restricted join rule a user joined to a room it allows; never a banned user.
// To anyone else the room does not exist (404), as a room unknown here: a summary of a room this
// server is not in would come from another server's /hierarchy, which Weft does not ask yet.
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, parseRoomId } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { AliasService } from "./aliases.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import { allowedRoomIds } from "./restricted-joins.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";

export interface RoomSummaryDeps {
  readonly states: RoomStateReader;
  readonly directory: RoomDirectoryService;
  readonly aliases: AliasService;
  readonly membershipIndex: MembershipIndex;
}

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

  /** GET /room_summary/{roomIdOrAlias}, for `userId` (undefined: asked without an access token). */
  async summary(roomIdOrAlias: string, userId: string | undefined): Promise<JsonObject> {
    const roomId = await this.#roomIdOf(roomIdOrAlias);
    const state = await this.#deps.states.current(roomId);
    if (state === undefined || !(await mayPreview(state, userId, this.#deps.membershipIndex))) throw notFound();
    const out = await roomSummaryOf(state, this.#deps.directory);
    const membership = userId === undefined ? undefined : await state.membershipOf(userId);
    if (membership !== undefined) out["membership"] = membership;
    return out;
  }

  async #roomIdOf(roomIdOrAlias: string): Promise<string> {
    if (roomIdOrAlias.startsWith("#")) {
      if (parseRoomAlias(roomIdOrAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room alias", 400);
      try {
        return (await this.#deps.aliases.resolve(roomIdOrAlias)).roomId;
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === "M_NOT_FOUND") throw notFound();
        throw err;
      }
    }
    if (parseRoomId(roomIdOrAlias) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room ID or alias", 400);
    return roomIdOrAlias;
  }
}
