import type { JsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";

/**
 * A PDU as it travels between servers (server-server-api#pdus, data/api/server-server/definitions/pdu_v*.yaml).
 * Its exact shape differs by room version; this is the raw JSON object, kept whole so that signatures
 * and hashes can be checked over exactly what was received.
 */
export type Pdu = JsonObject;

/**
 * The version-independent view of an event that the authorization rules, state resolution and the
 * pipeline work on. Built from a PDU by `toRoomEvent` (events/pdu.ts), which computes the event ID
 * for room versions 3+ and flattens v1-v2's [id, hashes] references.
 */
export interface RoomEvent {
  readonly eventId: string;
  /**
   * The PDU's `room_id`; for a v12 create event, which carries none, the room ID derived from its
   * own reference hash (rooms/v12.md).
   */
  readonly roomId: string;
  readonly type: string;
  /** Present on state events (possibly the empty string), undefined on others. */
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly content: JsonObject;
  readonly originServerTs: number;
  readonly depth: number;
  readonly prevEventIds: readonly string[];
  readonly authEventIds: readonly string[];
  /** The redacted event of an m.room.redaction (top level before v11, in content from v11). */
  readonly redacts: string | undefined;
  readonly roomVersion: RoomVersion;
  /** The PDU this view was built from. */
  readonly pdu: Pdu;
}

/** A (type, state_key) pair, the key of a room's state map. */
export type StateKeyTuple = readonly [type: string, stateKey: string];

/** The encoding of a state key tuple used as a Map key: type and state key joined by NUL. */
export function stateMapKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

/** A room's state: (type, state_key) encoded by stateMapKey -> event ID. */
export type StateMap = Map<string, string>;
