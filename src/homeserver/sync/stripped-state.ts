// Stripped state (client-server-api#stripped-state) for the invite_state and knock_state of /sync:
// "sender, type, state_key and content" of the room's create, name, avatar, topic, join rules,
// canonical alias and encryption events, beside the user's own member event.
import { stateMapKey } from "../../core/events/room-event.ts";
import type { RoomEvent, StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";

/** The state the spec lists, plus the inviter's or knocker's member event (as Synapse sends). */
export const STRIPPED_STATE_TYPES: readonly string[] = [
  "m.room.create",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.join_rules",
  "m.room.canonical_alias",
  "m.room.encryption",
];

export function strippedEvent(event: RoomEvent): JsonObject {
  return { type: event.type, state_key: event.stateKey ?? "", sender: event.sender, content: event.content };
}

/** The state keys to strip from the room state at a member event. */
export function strippedStateIds(state: StateMap, memberEvent: RoomEvent): string[] {
  const ids: string[] = [];
  for (const type of STRIPPED_STATE_TYPES) {
    const id = state.get(stateMapKey(type, ""));
    if (id !== undefined) ids.push(id);
  }
  if (memberEvent.sender !== memberEvent.stateKey) {
    const sender = state.get(stateMapKey("m.room.member", memberEvent.sender));
    if (sender !== undefined) ids.push(sender);
  }
  return ids;
}

/**
 * A remote invite carries its room's stripped state in unsigned.invite_room_state (or
 * knock_room_state), as the other server wrote it: client-server-api#stripped-state (v1.16),
 * "Servers cannot pass through what they receive over federation to clients as stripped state",
 * so each entry is pruned to the stripped state schema.
 */
export function carriedStrippedState(memberEvent: RoomEvent): JsonObject[] | undefined {
  const unsigned = memberEvent.pdu["unsigned"];
  if (typeof unsigned !== "object" || unsigned === null || Array.isArray(unsigned)) return undefined;
  const carried = unsigned["invite_room_state"] ?? unsigned["knock_room_state"];
  if (!Array.isArray(carried)) return undefined;
  return carried.flatMap((e) => (typeof e === "object" && e !== null && !Array.isArray(e) ? strippedOf(e, memberEvent.stateKey) : []));
}

/**
 * An entry of an invite_room_state as a client sees it (client-server-api#stripped-state: "sender,
 * type, state_key and content"): room version 12 sends whole PDUs there. The invitee's own member
 * event is left out (the invite itself goes last), and so is anything malformed.
 */
export function strippedOf(entry: JsonObject, invitee: string | undefined): JsonObject[] {
  const { type, state_key: stateKey, sender, content } = entry;
  if (typeof type !== "string" || typeof stateKey !== "string" || typeof sender !== "string") return [];
  if (typeof content !== "object" || content === null || Array.isArray(content)) return [];
  if (type === "m.room.member" && stateKey === invitee) return [];
  return [{ type, state_key: stateKey, sender, content }];
}
