// The rules for m.room.member events: rooms/fragments/v8-auth-rules.md rule 4 (rule 5 in
// v1-auth-rules.md and rooms/v12.md), with the changes of rooms/v7.md (knocking), v8 (restricted
// joins), v10 (knock_restricted) and v11 (the creator is the create event's sender).
// Citations use v8's numbering unless a rule exists only elsewhere.

import { isJsonObject } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { serverNameOf } from "../identifiers/index.ts";
import { actionLevel, powerLevelOf } from "./power-levels.ts";
import { checkThirdPartyInviteSigned } from "./third-party-invite.ts";
import { ALLOWED, CREATE, JOIN_RULES, MEMBER, ownValue, reject } from "./types.ts";
import type { AuthResult, AuthStateLookup } from "./types.ts";

/**
 * A user's *current membership state* in the given state: the `membership` of their m.room.member
 * event, or "leave" when they have none (never joined, or the value is not a string).
 */
export function effectiveMembership(userId: string, authState: AuthStateLookup): string {
  const member = authState(MEMBER, userId);
  const membership = member === undefined ? undefined : ownValue(member.content, "membership");
  return typeof membership === "string" ? membership : "leave";
}

/**
 * The room's `join_rule`. Without an m.room.join_rules event, or without `join_rule` in it, a room
 * is treated as invite-only (the rules only ever allow joins through a join rule they name, and
 * an invite is the one way in that needs none). Undefined when the value is not a string.
 */
export function currentJoinRule(authState: AuthStateLookup): string | undefined {
  const joinRules = authState(JOIN_RULES, "");
  if (joinRules === undefined || !Object.hasOwn(joinRules.content, "join_rule")) return "invite";
  const joinRule = ownValue(joinRules.content, "join_rule");
  return typeof joinRule === "string" ? joinRule : undefined;
}

/**
 * The server whose signature rule 4.2 requires on a member event of v8+: the server of the user
 * in `content.join_authorised_via_users_server`. Undefined when the event has no such key (or
 * the room version has no restricted joins). The pipeline's signature check must verify this
 * server's signature; the auth rules, which know no keys, only check that one is present.
 */
export function joinAuthorisingServer(event: Pick<RoomEvent, "type" | "content" | "roomVersion">): string | undefined {
  if (event.type !== MEMBER || !event.roomVersion.restrictedJoins) return undefined;
  const authoriser = ownValue(event.content, "join_authorised_via_users_server");
  return typeof authoriser === "string" ? serverNameOf(authoriser) : undefined;
}

/** The m.room.member rules, from "If there is no state_key property" to "the membership is unknown". */
export function checkMemberEvent(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  // v8-auth-rules.md rule 4.1: "If there is no state_key property, or no membership property in content, reject."
  if (event.stateKey === undefined) return reject("m.room.member event has no state_key");
  const membership = ownValue(event.content, "membership");
  if (membership === undefined) return reject("m.room.member event has no membership");
  const signedByAuthoriser = checkSignedByAuthorisingServer(event);
  if (!signedByAuthoriser.allowed) return signedByAuthoriser;
  const version = event.roomVersion;
  switch (membership) {
    case "join":
      return checkJoin(event, authState);
    case "invite":
      return checkInvite(event, authState);
    case "leave":
      return checkLeave(event, authState);
    case "ban":
      return checkBan(event, authState);
    case "knock":
      if (version.knocking) return checkKnock(event, authState);
      break;
  }
  // v8-auth-rules.md rule 4.8: "Otherwise, the membership is unknown. Reject."
  return reject(`unknown membership ${JSON.stringify(membership)}`);
}

/**
 * v8-auth-rules.md rule 4.2.1: "If the event is not validly signed by the homeserver of the user ID
 * denoted by the key, reject." Checks that the PDU carries a signature of that server; verifying it
 * is the signature check's job (see joinAuthorisingServer).
 */
function checkSignedByAuthorisingServer(event: RoomEvent): AuthResult {
  if (!event.roomVersion.restrictedJoins) return ALLOWED;
  if (!Object.hasOwn(event.content, "join_authorised_via_users_server")) return ALLOWED;
  const server = joinAuthorisingServer(event);
  if (server === undefined) return reject("join_authorised_via_users_server is not a user ID");
  const signatures = ownValue(event.pdu, "signatures");
  const ofServer = isJsonObject(signatures) ? ownValue(signatures, server) : undefined;
  if (!isJsonObject(ofServer) || Object.keys(ofServer).length === 0) {
    return reject(`event is not signed by ${server}, the server of join_authorised_via_users_server`);
  }
  return ALLOWED;
}

/** v8-auth-rules.md rule 4.3.1 (v11: "the state_key is the sender of the m.room.create"). */
function isCreatorsFirstJoin(event: RoomEvent, authState: AuthStateLookup): boolean {
  const createEvent = authState(CREATE, "");
  if (createEvent === undefined) return false;
  if (event.prevEventIds.length !== 1 || event.prevEventIds[0] !== createEvent.eventId) return false;
  const version = event.roomVersion;
  // Only the creator of the create event itself: additional_creators (v12) join like anyone else.
  const creator = version.creatorInContent ? ownValue(createEvent.content, "creator") : createEvent.sender;
  return creator === event.stateKey;
}

function isInviteLikeJoinRule(joinRule: string | undefined, version: RoomVersion): boolean {
  // rooms/v7.md rule 4.3.4 changed: "If the join_rule is invite or knock".
  return joinRule === "invite" || (version.knocking && joinRule === "knock");
}

function isRestrictedJoinRule(joinRule: string | undefined, version: RoomVersion): boolean {
  // v8-auth-rules.md rule 4.3.5; rooms/v10.md: "restricted or knock_restricted".
  return (
    (version.restrictedJoins && joinRule === "restricted") ||
    (version.knockRestrictedJoinRule && joinRule === "knock_restricted")
  );
}

/** v8-auth-rules.md rule 4.3: `membership` is `join`. */
function checkJoin(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  // rule 4.3.1: the creator's own join straight after the create event.
  if (isCreatorsFirstJoin(event, authState)) return ALLOWED;
  // rule 4.3.2: "If the sender does not match state_key, reject."
  if (event.sender !== event.stateKey) return reject("sender cannot join on behalf of another user");
  // rule 4.3.3: "If the sender is banned, reject."
  const membership = effectiveMembership(event.sender, authState);
  if (membership === "ban") return reject("sender is banned");
  const joinRule = currentJoinRule(authState);
  // rule 4.3.4: invite (or knock) join rule: "allow if membership state is invite or join".
  if (isInviteLikeJoinRule(joinRule, version)) {
    if (membership === "invite" || membership === "join") return ALLOWED;
    return reject(`join rule is ${joinRule ?? "?"} and sender is not invited`);
  }
  // rule 4.3.5: restricted (and knock_restricted from v10).
  if (isRestrictedJoinRule(joinRule, version)) {
    if (membership === "invite" || membership === "join") return ALLOWED;
    return checkJoinAuthorisedViaUsersServer(event, authState);
  }
  // rule 4.3.6: "If the join_rule is public, allow."
  if (joinRule === "public") return ALLOWED;
  // rule 4.3.7: "Otherwise, reject."
  return reject(`join rule ${JSON.stringify(joinRule ?? null)} does not let the sender join`);
}

/**
 * v8-auth-rules.md rule 4.3.5.2: "If the join_authorised_via_users_server key in content is not a
 * user with sufficient permission to invite other users or is not a joined member of the room, reject."
 */
function checkJoinAuthorisedViaUsersServer(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const authoriser = ownValue(event.content, "join_authorised_via_users_server");
  if (typeof authoriser !== "string") return reject("restricted join without join_authorised_via_users_server");
  if (effectiveMembership(authoriser, authState) !== "join") {
    return reject("join_authorised_via_users_server is not a joined member of the room");
  }
  const version = event.roomVersion;
  if (powerLevelOf(authoriser, authState, version) < actionLevel("invite", authState, version)) {
    return reject("join_authorised_via_users_server cannot invite other users");
  }
  // rule 4.3.5.3: "Otherwise, allow."
  return ALLOWED;
}

/** v8-auth-rules.md rule 4.4: `membership` is `invite`. */
function checkInvite(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  const target = event.stateKey ?? "";
  const targetMembership = effectiveMembership(target, authState);
  // rule 4.4.1: "If content has a third_party_invite property"
  if (Object.hasOwn(event.content, "third_party_invite")) {
    // rule 4.4.1.1: "If target user is banned, reject."
    if (targetMembership === "ban") return reject("target user is banned");
    return checkThirdPartyInviteSigned(event, authState);
  }
  // rule 4.4.2: "If the sender's current membership state is not join, reject."
  if (effectiveMembership(event.sender, authState) !== "join") return reject("sender is not joined to the room");
  // rule 4.4.3: "If target user's current membership state is join or ban, reject."
  if (targetMembership === "join" || targetMembership === "ban") {
    return reject(`target user's membership is ${targetMembership}`);
  }
  // rule 4.4.4: "If the sender's power level is greater than or equal to the invite level, allow."
  if (powerLevelOf(event.sender, authState, version) >= actionLevel("invite", authState, version)) return ALLOWED;
  // rule 4.4.5: "Otherwise, reject."
  return reject("sender's power level is below the invite level");
}

/** v8-auth-rules.md rule 4.5: `membership` is `leave` (leaving, rejecting an invite, kicking, unbanning). */
function checkLeave(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  const target = event.stateKey ?? "";
  // rule 4.5.1: a user's own leave is allowed iff they are invited or joined (or knocking, from v7).
  if (event.sender === target) {
    const membership = effectiveMembership(target, authState);
    if (membership === "invite" || membership === "join" || (version.knocking && membership === "knock")) {
      return ALLOWED;
    }
    return reject(`cannot leave with membership ${membership}`);
  }
  // rule 4.5.2: "If the sender's current membership state is not join, reject."
  if (effectiveMembership(event.sender, authState) !== "join") return reject("sender is not joined to the room");
  const senderLevel = powerLevelOf(event.sender, authState, version);
  // rule 4.5.3: unbanning needs the ban level.
  if (effectiveMembership(target, authState) === "ban" && senderLevel < actionLevel("ban", authState, version)) {
    return reject("sender's power level is below the ban level, needed to unban");
  }
  // rule 4.5.4: kick level, and a target of lower power than the sender.
  if (senderLevel >= actionLevel("kick", authState, version) && powerLevelOf(target, authState, version) < senderLevel) {
    return ALLOWED;
  }
  // rule 4.5.5: "Otherwise, reject."
  return reject("sender's power level is below the kick level or not above the target's");
}

/** v8-auth-rules.md rule 4.6: `membership` is `ban`. */
function checkBan(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  // rule 4.6.1: "If the sender's current membership state is not join, reject."
  if (effectiveMembership(event.sender, authState) !== "join") return reject("sender is not joined to the room");
  // rule 4.6.2: ban level, and a target of lower power than the sender.
  const senderLevel = powerLevelOf(event.sender, authState, version);
  const targetLevel = powerLevelOf(event.stateKey ?? "", authState, version);
  if (senderLevel >= actionLevel("ban", authState, version) && targetLevel < senderLevel) return ALLOWED;
  // rule 4.6.3: "Otherwise, reject."
  return reject("sender's power level is below the ban level or not above the target's");
}

/** rooms/v7.md rule 4.7 (v8-auth-rules.md 4.7): `membership` is `knock`. */
function checkKnock(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  // rule 4.7.1: the join rule must be knock (or knock_restricted from v10).
  const joinRule = currentJoinRule(authState);
  const knockable = joinRule === "knock" || (version.knockRestrictedJoinRule && joinRule === "knock_restricted");
  if (!knockable) return reject(`cannot knock when the join rule is ${JSON.stringify(joinRule ?? null)}`);
  // rule 4.7.2: "If sender does not match state_key, reject."
  if (event.sender !== event.stateKey) return reject("sender cannot knock on behalf of another user");
  // rule 4.7.3: "If the sender's current membership is not ban, invite, or join, allow."
  const membership = effectiveMembership(event.sender, authState);
  if (membership !== "ban" && membership !== "invite" && membership !== "join") return ALLOWED;
  // rule 4.7.4: "Otherwise, reject."
  return reject(`cannot knock with membership ${membership}`);
}
