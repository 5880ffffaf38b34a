// Check 5 of server-server-api "Checks performed on receipt of a PDU": "Passes authorisation rules
// based on the state before the event, otherwise it is rejected." The state before an event is
// the resolution of the states after its prev_events (server-server-api#room-state-resolution).
import { authEventsSelection, checkEventAuth } from "../../../core/auth/index.ts";
import type { AuthResult, AuthStateLookup } from "../../../core/auth/index.ts";
import { stateMapKey } from "../../../core/events/room-event.ts";
import type { RoomEvent, StateMap } from "../../../core/events/room-event.ts";
import { packedMap } from "../../../core/packed-map.ts";
import type { RoomVersion } from "../../../core/room-versions/room-versions.ts";
import { resolveState } from "../../../core/state-res/index.ts";
import type { StateResolutionSource } from "../../../core/state-res/index.ts";
import type { StateSnapshot } from "../../../storage/stores/state-snapshot.ts";
import type { KnownEvent } from "../known-event.ts";

/** The state keys the authorization rules may consult for an event: its auth events selection and the create event. */
export function authStateKeys(event: RoomEvent): string[] {
  const keys = packedMap(authEventsSelection(event, event.roomVersion), ([type, stateKey]) => stateMapKey(type, stateKey));
  keys.push(stateMapKey("m.room.create", ""));
  return keys;
}

/** The event IDs a state holds at the keys the rules may consult for `event`. */
export function authStateIds(event: RoomEvent, state: StateSnapshot): string[] {
  return authStateIdsAt(authStateKeys(event), state);
}

/** The event IDs a state holds at these keys (authStateKeys of an event, computed once for its checks). */
export function authStateIdsAt(keys: readonly string[], state: StateSnapshot): string[] {
  const ids: string[] = [];
  for (const key of keys) {
    const id = state.get(key);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

/** An AuthStateLookup over a state, given the events authStateIds named. */
export function stateLookup(state: StateSnapshot, events: ReadonlyMap<string, KnownEvent>): AuthStateLookup {
  return (type, stateKey) => {
    const id = state.get(stateMapKey(type, stateKey));
    return id === undefined ? undefined : events.get(id)?.event;
  };
}

export function checkAgainstState(event: RoomEvent, state: StateSnapshot, events: ReadonlyMap<string, KnownEvent>): AuthResult {
  return checkEventAuth(event, stateLookup(state, events));
}

/**
 * The one state all of `states` are, when they are one (the same snapshot, or snapshots of the
 * same stored group): then there is nothing to resolve. Undefined when they differ.
 */
export function sameState(states: readonly StateSnapshot[]): StateSnapshot | undefined {
  const first = states[0];
  if (first === undefined) throw new Error("resolveStates needs at least one state");
  for (let i = 1; i < states.length; i++) {
    const s = states[i] as StateSnapshot;
    if (s !== first && (s.group === undefined || s.group !== first.group)) return undefined;
  }
  return first;
}

/**
 * The state before an event from the states after its prev_events (and a state supplied with it),
 * or the current state from the states after the forward extremities: the one state when they
 * agree, else their resolution by the room version's algorithm, stored as a delta over the first.
 */
export async function resolveStates(
  version: RoomVersion,
  states: readonly StateSnapshot[],
  source: StateResolutionSource,
): Promise<StateSnapshot> {
  const same = sameState(states);
  if (same !== undefined) return same;
  const distinct = [...new Set(states)];
  const first = distinct[0];
  if (first === undefined) throw new Error("resolveStates needs at least one state");
  const maps: StateMap[] = distinct.map((s) => s.toMap());
  const resolved = await resolveState(maps, version, source);
  return first.become(resolved);
}
