// The shapes the authorization rules work with (server-server-api#authorisation-rules).

import type { JsonObject, JsonValue } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";

/**
 * The room state an event is checked against: the state event of a (type, state_key), or
 * undefined. The caller decides which state it is: the event's auth events, the state before the
 * event, or the current state of the room for soft failure (server-server-api#checks-performed-on-receipt-of-a-pdu).
 */
export type AuthStateLookup = (type: string, stateKey: string) => RoomEvent | undefined;

/** The outcome of an authorization check: allowed, or rejected with a human-readable reason. */
export type AuthResult = { allowed: true } | { allowed: false; reason: string };

export const ALLOWED: AuthResult = Object.freeze({ allowed: true });

export function reject(reason: string): AuthResult {
  return { allowed: false, reason };
}

/** The property `key` of `object` if it is its own (never one inherited from Object.prototype). */
export function ownValue(object: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

// The event types the rules name (client-server-api#mroomcreate and neighbours).
export const CREATE = "m.room.create";
export const MEMBER = "m.room.member";
export const JOIN_RULES = "m.room.join_rules";
export const POWER_LEVELS = "m.room.power_levels";
export const THIRD_PARTY_INVITE = "m.room.third_party_invite";
export const ALIASES = "m.room.aliases";
export const REDACTION = "m.room.redaction";
