// The authorization rules of room versions 1 to 12 (server-server-api#authorisation-rules):
// rooms/fragments/v1-auth-rules.md (v1-v2), v3-auth-rules.md (v3-v5), rooms/v6.md, rooms/v7.md,
// fragments/v8-auth-rules.md (v8-v9), rooms/v10.md, rooms/v11.md, rooms/v12.md.
// Rule numbers below are v8's unless said otherwise; the differences are room version flags.

import type { RoomEvent } from "../events/room-event.ts";
import { createEventIdOfRoom } from "../events/room-id.ts";
import { serverNameOf } from "../identifiers/index.ts";
import { isJsonObject } from "../json.ts";
import { checkCreateEvent } from "./create.ts";
import { checkMemberEvent, effectiveMembership } from "./membership.ts";
import { actionLevel, powerLevelOf, requiredPowerLevel } from "./power-levels.ts";
import { checkPowerLevelsEvent } from "./power-levels-change.ts";
import {
  ALIASES,
  ALLOWED,
  CREATE,
  MEMBER,
  POWER_LEVELS,
  REDACTION,
  THIRD_PARTY_INVITE,
  ownValue,
  reject,
} from "./types.ts";
import type { AuthResult, AuthStateLookup } from "./types.ts";

/**
 * Whether `event` is allowed by the authorization rules of its room version against `authState`:
 * its auth events, the state before it, or the current state (for soft failure); the caller
 * chooses. The rules on the auth_events list itself are checkAuthEventsList's.
 * From v12 the state must still hold the m.room.create event, which events no longer cite: the
 * caller adds the one the room ID names. Never throws on malformed content: it rejects.
 */
export function checkEventAuth(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  if (!isJsonObject(event.content)) return reject("content is not an object");
  // rule 1: m.room.create is decided by its own rules.
  if (event.type === CREATE) return checkCreateEvent(event);
  const steps: Array<(event: RoomEvent, authState: AuthStateLookup) => AuthResult | "continue"> = [
    checkRoomCreateEvent,
    checkFederation,
    checkAliasesEvent,
    checkMemberRules,
    checkSenderJoined,
    checkThirdPartyInviteEvent,
    checkRequiredPowerLevel,
    checkUserStateKey,
    checkPowerLevelsRules,
    checkRedactionEvent,
  ];
  for (const step of steps) {
    const result = step(event, authState);
    if (result !== "continue") return result;
  }
  // v8-auth-rules.md rule 10: "Otherwise, allow."
  return ALLOWED;
}

/**
 * The create event every other rule refers to: v1-auth-rules.md rule 2.4 (there must be one) and
 * 2.5 (of this room); rooms/v12.md rule 2: "If the event's room_id is not an event ID for an
 * accepted (not rejected) m.room.create event, with the sigil ! instead of $, reject."
 */
function checkRoomCreateEvent(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  const createEvent = authState(CREATE, "");
  if (createEvent === undefined) return reject("no m.room.create event in the state");
  if (event.roomVersion.roomIdFromCreateEvent) {
    if (!event.roomId.startsWith("!") || createEventIdOfRoom(event.roomId) !== createEvent.eventId) {
      return reject("the room_id is not the ID of the room's m.room.create event");
    }
  } else if (createEvent.roomId !== event.roomId) {
    return reject("the m.room.create event is from another room");
  }
  return "continue";
}

/**
 * v8-auth-rules.md rule 3: "If the content of the m.room.create event in the room state has the
 * property m.federate set to false, and the sender domain of the event does not match the sender
 * domain of the create event, reject."
 */
function checkFederation(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  const createEvent = authState(CREATE, "");
  if (createEvent === undefined || ownValue(createEvent.content, "m.federate") !== false) return "continue";
  const senderDomain = serverNameOf(event.sender);
  if (senderDomain === undefined || senderDomain !== serverNameOf(createEvent.sender)) {
    return reject("the room does not federate and the sender is from another server");
  }
  return "continue";
}

/** v1-auth-rules.md rule 4 (v1-v5 only; removed by rooms/v6.md): m.room.aliases. */
function checkAliasesEvent(event: RoomEvent): AuthResult | "continue" {
  if (event.type !== ALIASES || !event.roomVersion.specialCaseAliasesAuth) return "continue";
  // rule 4.1: "If event has no state_key, reject."
  if (event.stateKey === undefined) return reject("m.room.aliases event has no state_key");
  // rule 4.2: "If sender's domain doesn't match state_key, reject."
  if (serverNameOf(event.sender) !== event.stateKey) return reject("the sender's domain does not match the state_key");
  // rule 4.3: "Otherwise, allow."
  return ALLOWED;
}

/** v8-auth-rules.md rule 4: m.room.member events are decided by the membership rules. */
function checkMemberRules(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  return event.type === MEMBER ? checkMemberEvent(event, authState) : "continue";
}

/** v8-auth-rules.md rule 5: "If the sender's current membership state is not join, reject." */
function checkSenderJoined(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  return effectiveMembership(event.sender, authState) === "join" ? "continue" : reject("sender is not joined to the room");
}

/**
 * v8-auth-rules.md rule 6: m.room.third_party_invite is allowed "if and only if sender's current
 * power level is greater than or equal to the invite level".
 */
function checkThirdPartyInviteEvent(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  if (event.type !== THIRD_PARTY_INVITE) return "continue";
  const version = event.roomVersion;
  if (powerLevelOf(event.sender, authState, version) >= actionLevel("invite", authState, version)) return ALLOWED;
  return reject("sender's power level is below the invite level");
}

/** v8-auth-rules.md rule 7: "If the event type's required power level is greater than the sender's power level, reject." */
function checkRequiredPowerLevel(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  const version = event.roomVersion;
  const required = requiredPowerLevel(event.type, event.stateKey, authState, version);
  if (required > powerLevelOf(event.sender, authState, version)) {
    return reject(`sender's power level is below the ${required} required to send ${event.type}`);
  }
  return "continue";
}

/** v8-auth-rules.md rule 8: "If the event has a state_key that starts with an @ and does not match the sender, reject." */
function checkUserStateKey(event: RoomEvent): AuthResult | "continue" {
  if (event.stateKey !== undefined && event.stateKey.startsWith("@") && event.stateKey !== event.sender) {
    return reject("a state_key starting with @ must be the sender's user ID");
  }
  return "continue";
}

/** v8-auth-rules.md rule 9: m.room.power_levels. */
function checkPowerLevelsRules(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  // The rule names the type only; only the state event with the empty state key is the room's
  // power levels, but a power levels event of another state key is checked the same way.
  return event.type === POWER_LEVELS ? checkPowerLevelsEvent(event, authState) : "continue";
}

/**
 * v1-auth-rules.md rule 11 (v1-v2 only; rooms/v3.md leaves redactions to the other rules and to
 * the handling of redactions): m.room.redaction.
 */
function checkRedactionEvent(event: RoomEvent, authState: AuthStateLookup): AuthResult | "continue" {
  const version = event.roomVersion;
  if (event.type !== REDACTION || !version.redactionAuthByEventIdDomain) return "continue";
  // rule 11.1: "If the sender's power level is greater than or equal to the redact level, allow."
  if (powerLevelOf(event.sender, authState, version) >= actionLevel("redact", authState, version)) return ALLOWED;
  // rule 11.2: the event IDs of the redacted event and of the redaction have the same domain.
  const redactedDomain = event.redacts === undefined ? undefined : serverNameOf(event.redacts);
  if (redactedDomain !== undefined && redactedDomain === serverNameOf(event.eventId)) return ALLOWED;
  // rule 11.3: "Otherwise, reject."
  return reject("sender may not redact events of another server's event IDs");
}
