// The rules for m.room.power_levels events: v1-auth-rules.md rule 10, v8-auth-rules.md rule 9 (with
// `notifications` from rooms/v6.md), rooms/v10.md rule 9 (integers only) and rooms/v12.md rule 10
// (room creators may not appear in `users`).

import { isJsonObject } from "../json.ts";
import type { JsonObject, JsonValue } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { parseUserId } from "../identifiers/index.ts";
import { NAMED_LEVEL_KEYS, parsePowerLevelValue, powerLevelOf, roomCreators } from "./power-levels.ts";
import { ALLOWED, CREATE, POWER_LEVELS, ownValue, reject } from "./types.ts";
import type { AuthResult, AuthStateLookup } from "./types.ts";

/** The m.room.power_levels rules, from the shape of the content to "Otherwise, allow". */
export function checkPowerLevelsEvent(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const version = event.roomVersion;
  const content = event.content;
  const shape = checkPowerLevelsContent(content, version);
  if (!shape.allowed) return shape;
  if (version.privilegedCreators) {
    const result = checkNoCreatorsInUsers(content, authState, version);
    if (!result.allowed) return result;
  }
  // v8-auth-rules.md rule 9.2: "If there is no previous m.room.power_levels event in the room, allow."
  const previous = authState(POWER_LEVELS, "");
  if (previous === undefined) return ALLOWED;
  const senderLevel = powerLevelOf(event.sender, authState, version);
  for (const check of [checkNamedLevelChanges, checkEventsAndNotificationsChanges, checkUsersChanges]) {
    const result = check(previous.content, content, senderLevel, event.sender, version);
    if (!result.allowed) return result;
  }
  // v8-auth-rules.md rule 9.8: "Otherwise, allow."
  return ALLOWED;
}

/**
 * The rules on the shape of an m.room.power_levels content alone (its levels are power levels, its
 * `users` keys user IDs): what a client's new content can be checked against before it is sent.
 */
export function checkPowerLevelsContent(content: JsonObject, version: RoomVersion): AuthResult {
  for (const check of [checkNamedLevelValues, checkEventsAndNotificationsValues, checkUsersValues]) {
    const result = check(content, version);
    if (!result.allowed) return result;
  }
  return ALLOWED;
}

/** The maps of event types to levels that the rules compare: `events`, and `notifications` from v6. */
function levelMapKeys(version: RoomVersion): readonly string[] {
  // rooms/v6.md: rules 9.4 and 9.5 now include the `notifications` property.
  return version.limitNotificationsPowerLevels ? ["events", "notifications"] : ["events"];
}

/**
 * rooms/v10.md rule 9.1: "If any of the properties users_default, events_default, state_default,
 * ban, redact, kick, or invite in content are present and not an integer, reject."
 * Before v10 the same keys may hold strings or (v1-v5) floats, but must still be power levels:
 * a value that is none cannot be compared by the rules below, so it is rejected too.
 */
function checkNamedLevelValues(content: JsonObject, version: RoomVersion): AuthResult {
  for (const key of NAMED_LEVEL_KEYS) {
    if (!Object.hasOwn(content, key)) continue;
    if (parsePowerLevelValue(content[key], version) === undefined) return reject(`${key} is not a valid power level`);
  }
  return ALLOWED;
}

/**
 * rooms/v10.md rule 9.2: "If either of the properties events or notifications in content are
 * present and not an object with values that are integers, reject." (Strings and floats before
 * v10, as for the named levels.)
 */
function checkEventsAndNotificationsValues(content: JsonObject, version: RoomVersion): AuthResult {
  for (const key of levelMapKeys(version)) {
    if (!Object.hasOwn(content, key)) continue;
    const levels = content[key];
    if (!isJsonObject(levels)) return reject(`${key} is not an object`);
    for (const [name, value] of Object.entries(levels)) {
      if (parsePowerLevelValue(value, version) === undefined) {
        return reject(`${key}[${JSON.stringify(name)}] is not a valid power level`);
      }
    }
  }
  return ALLOWED;
}

/**
 * v1-auth-rules.md rule 10.1 / rooms/v10.md rule 9.3: "If the users property in content is not an
 * object with keys that are valid user IDs with values that are integers (or a string that is an
 * integer), reject." (Strings only before v10.)
 */
function checkUsersValues(content: JsonObject, version: RoomVersion): AuthResult {
  if (!Object.hasOwn(content, "users")) return ALLOWED;
  const users = content["users"];
  if (!isJsonObject(users)) return reject("users is not an object");
  for (const [userId, value] of Object.entries(users)) {
    if (parseUserId(userId) === undefined) return reject(`users key ${JSON.stringify(userId)} is not a user ID`);
    if (parsePowerLevelValue(value, version) === undefined) {
      return reject(`users[${JSON.stringify(userId)}] is not a valid power level`);
    }
  }
  return ALLOWED;
}

/**
 * rooms/v12.md rule 10.4: "If the users property in content contains the sender of the
 * m.room.create event or any of the additional_creators array ... reject."
 */
function checkNoCreatorsInUsers(content: JsonObject, authState: AuthStateLookup, version: RoomVersion): AuthResult {
  const users = ownValue(content, "users");
  const createEvent = authState(CREATE, "");
  if (!isJsonObject(users) || createEvent === undefined) return ALLOWED;
  for (const creator of roomCreators(createEvent, version)) {
    if (Object.hasOwn(users, creator)) return reject(`room creator ${creator} cannot be given a power level`);
  }
  return ALLOWED;
}

/** A level of a power levels map, or undefined when absent (or, in a previous event, not a level). */
function levelIn(map: JsonValue | undefined, key: string, version: RoomVersion): number | undefined {
  return isJsonObject(map) ? parsePowerLevelValue(ownValue(map, key), version) : undefined;
}

function keysOf(...maps: (JsonValue | undefined)[]): Set<string> {
  const keys = new Set<string>();
  for (const map of maps) if (isJsonObject(map)) for (const key of Object.keys(map)) keys.add(key);
  return keys;
}

/**
 * v8-auth-rules.md rule 9.3: for users_default, events_default, state_default, ban, redact, kick
 * and invite, each one added, changed or removed: neither the current nor the new value may be
 * higher than the sender's current power level.
 */
function checkNamedLevelChanges(
  previous: JsonObject,
  next: JsonObject,
  senderLevel: number,
  _sender: string,
  version: RoomVersion,
): AuthResult {
  for (const key of NAMED_LEVEL_KEYS) {
    const current = levelIn(previous, key, version);
    const proposed = levelIn(next, key, version);
    if (current === proposed) continue;
    if (current !== undefined && current > senderLevel) return reject(`cannot change ${key} from a level above the sender's`);
    if (proposed !== undefined && proposed > senderLevel) return reject(`cannot set ${key} above the sender's level`);
  }
  return ALLOWED;
}

/**
 * v8-auth-rules.md rules 9.4 and 9.5: for each entry of `events` (and `notifications` from v6)
 * changed or removed, the current value may not be greater than the sender's power level; for
 * each one added or changed, neither may the new value.
 */
function checkEventsAndNotificationsChanges(
  previous: JsonObject,
  next: JsonObject,
  senderLevel: number,
  _sender: string,
  version: RoomVersion,
): AuthResult {
  for (const mapKey of levelMapKeys(version)) {
    const currentMap = ownValue(previous, mapKey);
    const proposedMap = ownValue(next, mapKey);
    for (const key of keysOf(currentMap, proposedMap)) {
      const current = levelIn(currentMap, key, version);
      const proposed = levelIn(proposedMap, key, version);
      if (current === proposed) continue;
      if (current !== undefined && current > senderLevel) {
        return reject(`cannot change ${mapKey}[${JSON.stringify(key)}] from a level above the sender's`);
      }
      if (proposed !== undefined && proposed > senderLevel) {
        return reject(`cannot set ${mapKey}[${JSON.stringify(key)}] above the sender's level`);
      }
    }
  }
  return ALLOWED;
}

/**
 * v8-auth-rules.md rules 9.6 and 9.7: for each entry of `users` changed or removed, other than the
 * sender's own, the current value must be below the sender's power level; for each one added or
 * changed, the new value may not be greater than it.
 */
function checkUsersChanges(
  previous: JsonObject,
  next: JsonObject,
  senderLevel: number,
  sender: string,
  version: RoomVersion,
): AuthResult {
  const currentUsers = ownValue(previous, "users");
  const proposedUsers = ownValue(next, "users");
  for (const userId of keysOf(currentUsers, proposedUsers)) {
    const current = levelIn(currentUsers, userId, version);
    const proposed = levelIn(proposedUsers, userId, version);
    if (current === proposed) continue;
    if (userId !== sender && current !== undefined && current >= senderLevel) {
      return reject(`cannot change the level of ${userId}, which is not below the sender's`);
    }
    if (proposed !== undefined && proposed > senderLevel) {
      return reject(`cannot give ${userId} a level above the sender's`);
    }
  }
  return ALLOWED;
}
