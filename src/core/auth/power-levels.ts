// Reading power levels out of room state: the levels of users, the required power level of an
// event type, and the invite, kick, ban and redact levels (server-server-api#definitions,
// client-server-api#mroompower_levels), with the per-version rules on how values are written.

import { isJsonObject } from "../json.ts";
import type { JsonValue } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { CREATE, POWER_LEVELS, ownValue } from "./types.ts";
import type { AuthStateLookup } from "./types.ts";

// rooms/fragments/v1-stringy-power-levels.md: optional surrounding whitespace, one optional sign,
// base-10 digits with any number of leading zeroes; no decimal point, no exponent.
const STRINGY_INTEGER = /^\s*[+-]?[0-9]+\s*$/;

/**
 * The power level a JSON value stands for in `version`, or undefined when it is not one.
 * - Integers are levels in every version; from v6 (strict canonical JSON) only those in the
 *   interoperable range [-(2^53)+1, 2^53-1].
 * - v1-v5 accept floats, truncated at the decimal point; values beyond a double (parsed as
 *   Infinity) are not levels (rooms/fragments/v1-floaty-power-levels.md).
 * - v1-v9 accept strings holding an integer (rooms/fragments/v1-stringy-power-levels.md);
 *   v10 requires integers (rooms/v10.md "Values in m.room.power_levels events must be integers").
 */
export function parsePowerLevelValue(value: JsonValue | undefined, version: RoomVersion): number | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    if (Number.isInteger(value)) {
      if (version.strictCanonicalJson && !Number.isSafeInteger(value)) return undefined;
      return value + 0; // -0 becomes 0
    }
    return version.strictCanonicalJson ? undefined : Math.trunc(value) + 0;
  }
  if (typeof value === "string" && !version.integerPowerLevels) {
    if (!STRINGY_INTEGER.test(value)) return undefined;
    const level = Number(value.trim());
    return Number.isFinite(level) ? level + 0 : undefined;
  }
  return undefined;
}

/** The names of the top-level levels of m.room.power_levels content (rooms/v10.md rule 9.1). */
export const NAMED_LEVEL_KEYS = [
  "users_default",
  "events_default",
  "state_default",
  "ban",
  "redact",
  "kick",
  "invite",
] as const;
export type NamedLevelKey = (typeof NAMED_LEVEL_KEYS)[number];

/** The actions whose level the rules name: invite, kick, ban and redact level (server-server-api#definitions). */
export type ActionLevel = "invite" | "kick" | "ban" | "redact";

// server-server-api#definitions: "The invite level defaults to 0 if unspecified. The kick level,
// ban level and redact level each default to 50 if unspecified."
const ACTION_LEVEL_DEFAULTS: Readonly<Record<ActionLevel, number>> = { invite: 0, kick: 50, ban: 50, redact: 50 };

/**
 * The room creators: from v12 the create event's sender and every user ID in its
 * `additional_creators` (rooms/v12.md "room creators"); before, the one creator, named in
 * `content.creator` up to v10 and the sender from v11 (rooms/v11.md).
 */
export function roomCreators(createEvent: RoomEvent, version: RoomVersion): Set<string> {
  const creators = new Set<string>();
  if (version.creatorInContent) {
    const creator = ownValue(createEvent.content, "creator");
    if (typeof creator === "string") creators.add(creator);
    return creators;
  }
  creators.add(createEvent.sender);
  if (version.privilegedCreators) {
    const additional = ownValue(createEvent.content, "additional_creators");
    if (Array.isArray(additional)) {
      for (const userId of additional) if (typeof userId === "string") creators.add(userId);
    }
  }
  return creators;
}

/**
 * Whether `userId` is a room creator whose power level is infinite: only from v12
 * (rooms/v12.md: "The power level of room creators is infinitely high").
 */
export function isPrivilegedCreator(userId: string, authState: AuthStateLookup, version: RoomVersion): boolean {
  if (!version.privilegedCreators) return false;
  const createEvent = authState(CREATE, "");
  return createEvent !== undefined && roomCreators(createEvent, version).has(userId);
}

/**
 * The power level of `userId` in the given state (client-server-api#mroompower_levels):
 * - v12: a room creator's is Infinity, whatever the power levels say;
 * - with an m.room.power_levels event: the user's entry in `users`, else `users_default`, else 0;
 * - without one: 100 for the room's creator, 0 for everyone else.
 * Values that are not levels in this version count as absent. Never throws.
 */
export function powerLevelOf(userId: string, authState: AuthStateLookup, version: RoomVersion): number {
  if (isPrivilegedCreator(userId, authState, version)) return Infinity;
  const powerLevels = authState(POWER_LEVELS, "");
  if (powerLevels !== undefined) {
    const users = ownValue(powerLevels.content, "users");
    const own = isJsonObject(users) ? parsePowerLevelValue(ownValue(users, userId), version) : undefined;
    if (own !== undefined) return own;
    return parsePowerLevelValue(ownValue(powerLevels.content, "users_default"), version) ?? 0;
  }
  const createEvent = authState(CREATE, "");
  if (createEvent !== undefined && roomCreators(createEvent, version).has(userId)) return 100;
  return 0;
}

/**
 * The *required power level* of an event type (server-server-api#definitions): its entry in
 * `events`, else `state_default` for a state event (50 if unspecified or without power levels)
 * or `events_default` for any other (0). See client-server-api#mroompower_levels.
 */
export function requiredPowerLevel(
  type: string,
  stateKey: string | undefined,
  authState: AuthStateLookup,
  version: RoomVersion,
): number {
  const content = authState(POWER_LEVELS, "")?.content ?? {};
  const events = ownValue(content, "events");
  const own = isJsonObject(events) ? parsePowerLevelValue(ownValue(events, type), version) : undefined;
  if (own !== undefined) return own;
  return stateKey !== undefined
    ? (parsePowerLevelValue(ownValue(content, "state_default"), version) ?? 50)
    : (parsePowerLevelValue(ownValue(content, "events_default"), version) ?? 0);
}

/** The *invite*, *kick*, *ban* or *redact level* in the given state (server-server-api#definitions). */
export function actionLevel(action: ActionLevel, authState: AuthStateLookup, version: RoomVersion): number {
  const content = authState(POWER_LEVELS, "")?.content;
  const level = content === undefined ? undefined : parsePowerLevelValue(ownValue(content, action), version);
  return level ?? ACTION_LEVEL_DEFAULTS[action];
}
