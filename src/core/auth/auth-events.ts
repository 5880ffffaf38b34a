// Which state an event cites as its auth events (server-server-api#auth-events-selection), and the
// rules on the auth_events list itself (v1-auth-rules.md rule 2, rooms/v12.md rule 3).

import { isJsonObject } from "../json.ts";
import type { JsonObject } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { stateMapKey } from "../events/room-event.ts";
import { ALLOWED, CREATE, JOIN_RULES, MEMBER, POWER_LEVELS, THIRD_PARTY_INVITE, ownValue, reject } from "./types.ts";
import type { AuthResult } from "./types.ts";

/** What the selection needs of an event: it may be one still being built. */
export interface AuthEventsSelectionInput {
  type: string;
  stateKey: string | undefined;
  sender: string;
  content: JsonObject;
}

/**
 * The (type, state_key) pairs of the room state an event must take its auth events from
 * (server-server-api#auth-events-selection), without duplicates:
 * - the m.room.create event, except from v12, whose room ID stands for it (rooms/v12.md);
 * - the m.room.power_levels event and the sender's m.room.member event;
 * - for m.room.member: the target's m.room.member; the m.room.join_rules for a join, invite or
 *   knock; for an invite with `third_party_invite`, the m.room.third_party_invite of its
 *   `signed.token`; for a join with `join_authorised_via_users_server` (v8+), that user's
 *   m.room.member.
 * An m.room.create event has none. Each pair is used only if the room state has such an event.
 */
export function authEventsSelection(
  event: AuthEventsSelectionInput,
  version: RoomVersion,
): Array<readonly [type: string, stateKey: string]> {
  // "The auth_events for the m.room.create event in a room is empty"
  if (event.type === CREATE) return [];
  const selected = new Map<string, readonly [string, string]>();
  const add = (type: string, stateKey: string): void => {
    selected.set(stateMapKey(type, stateKey), [type, stateKey] as const);
  };
  if (!version.roomIdFromCreateEvent) add(CREATE, "");
  add(POWER_LEVELS, "");
  add(MEMBER, event.sender);
  if (event.type === MEMBER && event.stateKey !== undefined) {
    add(MEMBER, event.stateKey);
    const membership = ownValue(event.content, "membership");
    if (membership === "join" || membership === "invite" || membership === "knock") add(JOIN_RULES, "");
    if (membership === "invite") {
      const token = thirdPartyInviteToken(event.content);
      if (token !== undefined) add(THIRD_PARTY_INVITE, token);
    }
    if (membership === "join" && version.restrictedJoins) {
      const authoriser = ownValue(event.content, "join_authorised_via_users_server");
      if (typeof authoriser === "string") add(MEMBER, authoriser);
    }
  }
  return [...selected.values()];
}

/** `content.third_party_invite.signed.token`, when it is a string. */
function thirdPartyInviteToken(content: JsonObject): string | undefined {
  const thirdPartyInvite = ownValue(content, "third_party_invite");
  const signed = isJsonObject(thirdPartyInvite) ? ownValue(thirdPartyInvite, "signed") : undefined;
  const token = isJsonObject(signed) ? ownValue(signed, "token") : undefined;
  return typeof token === "string" ? token : undefined;
}

/**
 * The rules on an event's auth_events list (v1-auth-rules.md rule 2, rooms/v12.md rule 3), given
 * the events its `auth_events` name, in any order. An m.room.create event is decided by rule 1
 * before these rules, so it passes here. Not checked, because the caller alone knows: rule 2.3,
 * "entries which were themselves rejected" (reject the event if any auth event was rejected).
 * Also rejects when `authEvents` is not exactly the events `event.authEventIds` names, so that a
 * missing auth event cannot make the event pass.
 */
export function checkAuthEventsList(event: RoomEvent, authEvents: readonly RoomEvent[]): AuthResult {
  if (event.type === CREATE) return ALLOWED;
  const version = event.roomVersion;
  const cited = checkAuthEventsAreTheCitedOnes(event, authEvents);
  if (!cited.allowed) return cited;
  const allowedKeys = new Set(authEventsSelection(event, version).map(([type, stateKey]) => stateMapKey(type, stateKey)));
  const seen = new Set<string>();
  let hasCreate = false;
  for (const authEvent of authEvents) {
    if (authEvent.stateKey === undefined) return reject(`auth event ${authEvent.eventId} is not a state event`);
    const key = stateMapKey(authEvent.type, authEvent.stateKey);
    // rule 2.1: "If there are duplicate entries for a given type and state_key pair, reject."
    if (seen.has(key)) return reject(`duplicate auth events for (${authEvent.type}, ${authEvent.stateKey})`);
    seen.add(key);
    // rule 2.2: entries not selected by the auth events selection (from v12, the create event).
    if (!allowedKeys.has(key)) {
      return reject(`auth event (${authEvent.type}, ${authEvent.stateKey}) is not one the event may cite`);
    }
    if (authEvent.type === CREATE) hasCreate = true;
    // rule 2.5: "If any event in auth_events has a room_id which does not match that of the event being authorised, reject."
    if (authEvent.roomId !== event.roomId) return reject(`auth event ${authEvent.eventId} is from another room`);
  }
  // rule 2.4 (until v11): "If there is no m.room.create event among the entries, reject."
  if (!version.roomIdFromCreateEvent && !hasCreate) return reject("no m.room.create event among the auth events");
  return ALLOWED;
}

function checkAuthEventsAreTheCitedOnes(event: RoomEvent, authEvents: readonly RoomEvent[]): AuthResult {
  const citedIds = new Set(event.authEventIds);
  // rule 2.1: the same event cited twice is a duplicate entry for its (type, state_key) too.
  if (citedIds.size !== event.authEventIds.length) return reject("auth_events cites the same event twice");
  const givenIds = new Set<string>();
  for (const authEvent of authEvents) {
    if (!citedIds.has(authEvent.eventId)) return reject(`${authEvent.eventId} is not among the event's auth_events`);
    givenIds.add(authEvent.eventId);
  }
  for (const id of citedIds) if (!givenIds.has(id)) return reject(`auth event ${id} was not supplied`);
  return ALLOWED;
}
