// Power events, as state resolution v2 defines them (rooms/fragments/v2-state-res.md "Power events").

import type { RoomEvent } from "../events/room-event.ts";
import { JOIN_RULES, MEMBER, POWER_LEVELS, ownValue } from "./types.ts";

/**
 * Whether the event is a *power event*: "a state event with type m.room.power_levels or
 * m.room.join_rules, or a state event with type m.room.member where the membership is leave or ban
 * and the sender does not match the state_key" (rooms/fragments/v2-state-res.md). As the spec words
 * it, the create event is not one and the state key of the first two types is not restricted.
 */
export function isPowerEvent(event: Pick<RoomEvent, "type" | "stateKey" | "sender" | "content">): boolean {
  if (event.stateKey === undefined) return false;
  if (event.type === POWER_LEVELS || event.type === JOIN_RULES) return true;
  if (event.type !== MEMBER) return false;
  const membership = ownValue(event.content, "membership");
  return (membership === "leave" || membership === "ban") && event.sender !== event.stateKey;
}
