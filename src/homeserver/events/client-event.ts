// The event formats served to clients (client-server-api#room-event-format): the ClientEvent of
// definitions/client_event.yaml, or the "federation" format a filter's `event_format` may ask for.
// Pure: whatever needs reading (transaction IDs, the replaced state, the redaction, aggregations) is
// gathered by the caller (serializer.ts does it in batches) and passed in.
import type { JsonObject } from "../../core/json.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";

/** The state event an event replaced (unsigned.replaces_state and prev_content). */
export interface ReplacedState {
  readonly eventId: string;
  /** Its content, when the user may see it (client_event.yaml `prev_content`); undefined otherwise. */
  readonly content: JsonObject | undefined;
}

export interface ClientEventOptions {
  /** The server's clock, for unsigned.age. */
  readonly now: number;
  readonly format?: "client" | "federation";
  /** Only given to the device that sent the event (client_event.yaml `transaction_id`). */
  readonly transactionId?: string;
  /** Bundled aggregations: unsigned.m.relations (client-server-api#aggregations-of-child-events). */
  readonly aggregations?: JsonObject;
  /** The m.room.redaction that redacted the event, already formatted (client-server-api#redactions). */
  readonly redactedBecause?: JsonObject;
  readonly replacesState?: ReplacedState;
  /** The requesting user's membership at the event (client_event.yaml `membership`). */
  readonly membership?: string;
  /** Leave out room_id (ClientEventWithoutRoomID, as /sync serves its timelines). */
  readonly withoutRoomId?: boolean;
}

/** An event as served to a client. */
export function toClientEvent(info: RoomEventInfo, options: ClientEventOptions): JsonObject {
  const event = info.event;
  const unsigned: JsonObject = { age: Math.max(0, options.now - event.originServerTs) };
  if (options.transactionId !== undefined) unsigned["transaction_id"] = options.transactionId;
  if (options.redactedBecause !== undefined) unsigned["redacted_because"] = options.redactedBecause;
  if (options.replacesState !== undefined) {
    unsigned["replaces_state"] = options.replacesState.eventId;
    if (options.replacesState.content !== undefined) unsigned["prev_content"] = options.replacesState.content;
  }
  if (options.membership !== undefined) unsigned["membership"] = options.membership;
  // State events do not receive bundled aggregations (client-server-api#aggregations-of-child-events).
  if (options.aggregations !== undefined && event.stateKey === undefined && Object.keys(options.aggregations).length > 0) {
    unsigned["m.relations"] = options.aggregations;
  }

  if (options.format === "federation") {
    // The PDU as the room version shapes it; its event ID (implicit from v3) and room ID (implicit
    // for a v12 create event) are spelled out so that a client can still key it.
    const { unsigned: _remoteUnsigned, ...pdu } = event.pdu;
    const out: JsonObject = { ...pdu, event_id: event.eventId, room_id: event.roomId, unsigned };
    if (options.withoutRoomId === true) delete out["room_id"];
    return out;
  }

  const out: JsonObject = {
    event_id: event.eventId,
    type: event.type,
    sender: event.sender,
    origin_server_ts: event.originServerTs,
    content: event.content,
    unsigned,
  };
  if (options.withoutRoomId !== true) out["room_id"] = event.roomId;
  if (event.stateKey !== undefined) out["state_key"] = event.stateKey;
  // m.room.redaction: `redacts` at the top level as in every room version's client format, besides
  // content.redacts from v11 (the example in client_event.yaml's redacted_because).
  if (event.redacts !== undefined) out["redacts"] = event.redacts;
  return out;
}
