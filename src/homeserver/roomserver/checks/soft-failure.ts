// Check 6 of server-server-api "Checks performed on receipt of a PDU": "Passes authorisation rules
// based on the current state of the room, otherwise it is 'soft failed'" (server-server-api
// #soft-failure: stored and used in state resolution, but neither relayed to clients nor cited
// as a prev_event by our new events).
import type { AuthResult } from "../../../core/auth/index.ts";
import type { RoomEvent } from "../../../core/events/room-event.ts";
import type { StateSnapshot } from "../../../storage/stores/state-snapshot.ts";
import type { KnownEvent } from "../known-event.ts";
import { checkAgainstState } from "./state-before.ts";

export function checkSoftFailure(event: RoomEvent, currentState: StateSnapshot, events: ReadonlyMap<string, KnownEvent>): AuthResult {
  // A room without forward extremities has no current state (its current state is empty: every
  // live room holds at least its create event). That is a server joining the room: the join comes
  // with the state before it, and there is no "current state" yet to compare it with.
  if (currentState.size === 0) return { allowed: true };
  return checkAgainstState(event, currentState, events);
}
