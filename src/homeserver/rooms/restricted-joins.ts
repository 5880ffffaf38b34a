// Restricted rooms (client-server-api#restricted-rooms; server-server-api#restricted-rooms): a user
// may join without an invite when they are joined to a room the join rules allow, and the join
// names, in `join_authorised_via_users_server`, a joined member of ours able to invite
// (v8-auth-rules.md rule 4.3.5).
import { actionLevel, powerLevelOf } from "../../core/auth/index.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { RoomState } from "./room-state.ts";

export type RestrictedJoin =
  /** The room's join rule is not a restricted one (or the user is invited): nothing to add. */
  | { readonly kind: "unrestricted" }
  /** Allowed, authorised by this local member. */
  | { readonly kind: "authorised"; readonly authoriser: string }
  /** Allowed, but none of our joined members may invite: another server must authorise it. */
  | { readonly kind: "needs_remote" }
  /** The user meets none of the conditions. */
  | { readonly kind: "not_allowed" };

/** The rooms a restricted join rule's `allow` names, by its one condition type, m.room_membership. */
export function allowedRoomIds(joinRules: JsonObject): string[] {
  const allow = Array.isArray(joinRules["allow"]) ? joinRules["allow"] : [];
  const ids: string[] = [];
  for (const condition of allow) {
    if (isJsonObject(condition) && condition["type"] === "m.room_membership" && typeof condition["room_id"] === "string") ids.push(condition["room_id"]);
  }
  return ids;
}

/** Whether the user is joined to one of the rooms the join rules allow. */
export async function joinedToAllowedRoom(joinRules: JsonObject, userId: string, index: MembershipIndex): Promise<boolean> {
  for (const roomId of allowedRoomIds(joinRules)) {
    if ((await index.membershipOf(userId, roomId)) === "join") return true;
  }
  return false;
}

/** Whether the join rules in `state` make a join of `userId` a restricted one, and who authorises it. */
export async function restrictedJoin(state: RoomState, userId: string, serverName: string, index: MembershipIndex): Promise<RestrictedJoin> {
  const content = (await state.content("m.room.join_rules")) ?? {};
  const rule = content["join_rule"];
  const restricted =
    (state.version.restrictedJoins && rule === "restricted") || (state.version.knockRestrictedJoinRule && rule === "knock_restricted");
  if (!restricted) return { kind: "unrestricted" };
  // "If the user has an invite to the room then the restrictions will not affect them."
  const membership = await state.membershipOf(userId);
  if (membership === "invite" || membership === "join") return { kind: "unrestricted" };

  if (!(await joinedToAllowedRoom(content, userId, index))) return { kind: "not_allowed" };

  const lookup = await state.lookup();
  const inviteLevel = actionLevel("invite", lookup, state.version);
  const locals = (await index.joinedMembers(state.roomId)).filter((u) => serverNameOf(u) === serverName);
  // The most powerful of our members who may invite, so the choice holds while power levels shift.
  const ranked = locals
    .map((u) => ({ userId: u, level: powerLevelOf(u, lookup, state.version) }))
    .filter((c) => c.level >= inviteLevel)
    .sort((a, b) => b.level - a.level || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  const chosen = ranked[0];
  return chosen === undefined ? { kind: "needs_remote" } : { kind: "authorised", authoriser: chosen.userId };
}
