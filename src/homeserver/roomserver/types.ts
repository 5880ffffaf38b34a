// The input and output of the one event pipeline (ARCHITECTURE.md "One event pipeline").
import type { EventFormatError } from "../../core/events/event-format-error.ts";
import type { JsonObject } from "../../core/json.ts";
import type { PolicyServer } from "../../core/events/policy-server.ts";
import type { Pdu, RoomEvent, StateMap } from "../../core/events/room-event.ts";
import type { TransactionKey } from "../../storage/stores/transactions.ts";

/**
 * How an event enters the room:
 * - `new`: a live event at the edge of the room (sent here or received in a transaction); it joins
 *   the timeline and the forward extremities, and is checked against the current state.
 * - `backfilled`: history from before what we have; stored with its state, never made an extremity.
 * - `outlier`: an event whose place in the room is not known (auth chains, state from /state_ids);
 *   only checks 1-4 apply, and it has no state.
 * - `out_of_band`: a membership of one of our users in a room this server is not in (an invite
 *   received over federation, the leave that rejected it): stored as an outlier after checks 1-3
 *   (its auth events are not known here), and given a place in the room stream so that the
 *   member hears of it (server-server-api#inviting-to-a-room: the invitee's server takes the
 *   invite as an outlier).
 */
export type InputKind = "outlier" | "new" | "backfilled" | "out_of_band";

export interface RoomInput {
  readonly kind: InputKind;
  readonly pdu: Pdu;
  /** The room version, for an event of a room not stored yet (other than its create event). */
  readonly roomVersion?: string;
  /** The server that sent it (federation): said in logs and reasons. */
  readonly origin?: string;
  /**
   * The state before the event as (type, state_key) -> event ID, when some of its prev_events are
   * not stored (from /state_ids, with its events stored as outliers first). Resolved together with
   * the states after the prev_events we have.
   */
  readonly stateBefore?: StateMap;
}

/** What became of an input. Only storage failures make the promise reject. */
export type InputResult =
  | {
      readonly outcome: "accepted";
      readonly eventId: string;
      readonly roomId: string;
      /** Its position in the room stream, when it entered the timeline now. */
      readonly streamOrdering: number | undefined;
      /** Its content hash did not match: it was redacted and stored so. */
      readonly redactedOnReceipt: boolean;
      /** It was stored already: nothing changed. */
      readonly duplicate: boolean;
    }
  | {
      /** Stored and marked: it passed the state before it but not the current state. */
      readonly outcome: "soft_failed";
      readonly eventId: string;
      readonly roomId: string;
      readonly reason: string;
      readonly duplicate: boolean;
    }
  | {
      /** Stored and marked (server-server-api#rejection): it failed the authorization rules. */
      readonly outcome: "rejected";
      readonly eventId: string;
      readonly roomId: string;
      readonly reason: string;
      readonly duplicate: boolean;
    }
  | {
      /** Dropped, not stored: invalid, badly signed, or missing what it refers to. */
      readonly outcome: "refused";
      readonly eventId: string | undefined;
      readonly reason: string;
      /**
       * For an event malformed as built from a client's request (too large, not canonical JSON, too
       * deeply nested): the error the client is answered with (M_TOO_LARGE, M_BAD_JSON).
       */
      readonly formatError?: EventFormatError;
      /**
       * For a local event in a room using a policy server, built and passing the rules but not
       * signed by that server: the event as built, to have it signed and queued again
       * (Roomserver.createLocalEvent does).
       */
      readonly policySignatureWanted?: { readonly pdu: Pdu; readonly policyServer: PolicyServer };
    };

/** A local event to build: createLocalEvent fills in prev_events, auth_events, depth, hashes and signatures. */
export interface LocalEventRequest {
  readonly roomId: string;
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
  /** m.room.redaction before room version 11: the event it redacts (a top-level key then). */
  readonly redacts?: string;
  readonly originServerTs?: number;
  /**
   * The client's transaction ID (client-server-api#transaction-identifiers): recorded in the
   * transaction that stores the event, so a retransmission finds it whenever the send was answered.
   */
  readonly transaction?: TransactionKey;
}

/** One of a new room's initial events after m.room.create, sent by its creator (Roomserver.createRoom). */
export interface InitialEvent {
  readonly type: string;
  readonly stateKey?: string;
  readonly content: JsonObject;
}

export interface CreateRoomRequest {
  readonly roomVersion: string;
  readonly creator: string;
  /** More content for the m.room.create event (room_version and, before v11, creator are set). */
  readonly content?: JsonObject;
  /** v1-v11: the room ID to use; one is made up otherwise. */
  readonly roomId?: string;
  readonly originServerTs?: number;
}

/** A change to the room's current state: key (stateMapKey) -> new event ID, or null when removed. */
export type StateDelta = ReadonlyMap<string, string | null>;

/** What the pipeline tells its consumers (sync, federation sending, appservices, push), after commit. */
export type RoomserverOutput =
  | {
      readonly kind: "new_room_event";
      readonly roomId: string;
      /** The event as served: its redacted form if it was redacted. */
      readonly event: RoomEvent;
      readonly streamOrdering: number;
      /** Built here by createLocalEvent (federation sends these). */
      readonly local: boolean;
      /** An out_of_band membership: an outlier in the room stream, outside the room's state here (stateDelta is empty). */
      readonly outOfBand?: boolean;
      /** How the room's current state changed with it. */
      readonly stateDelta: StateDelta;
      readonly forwardExtremities: readonly string[];
    }
  | {
      readonly kind: "redaction_applied";
      readonly roomId: string;
      readonly redactionEventId: string;
      readonly redactedEventId: string;
    };

export type OutputListener = (output: RoomserverOutput) => void;
