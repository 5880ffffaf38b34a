// An event the room engine has stored (or is storing in the batch at hand), with what the
// pipeline decided about it, and a process-wide cache of them.
import { checkPduFormat } from "../../core/events/format.ts";
import { roomEventOf } from "../../core/events/pdu.ts";
import { redactEvent } from "../../core/events/redaction.ts";
import type { Pdu, RoomEvent } from "../../core/events/room-event.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import { LruMap } from "../../storage/stores/nid-cache.ts";
import type { StoredEvent } from "../../storage/stores/events.ts";
import type { StateSnapshot } from "../../storage/stores/state-snapshot.ts";

export interface KnownEvent {
  /** The event as served: its redacted form once a redaction applied to it. */
  readonly event: RoomEvent;
  readonly outlier: boolean;
  readonly backfilled: boolean;
  readonly softFailed: boolean;
  readonly rejectedReason: string | undefined;
  readonly redactedBy: string | undefined;
  /** The state before and after it: a snapshot, or the state group still to load; undefined for outliers. */
  readonly stateBefore: StateSnapshot | number | undefined;
  readonly stateAfter: StateSnapshot | number | undefined;
  readonly streamOrdering: number | undefined;
}

/**
 * The RoomEvent of a PDU we stored ourselves: its format is checked again (cheap), but its event ID
 * is the one stored, not recomputed (that would hash it again).
 */
export function storedRoomEvent(pdu: Pdu, version: RoomVersion, eventId: string, roomId: string): RoomEvent {
  const fields = checkPduFormat(pdu, version);
  return roomEventOf(pdu, version, fields, eventId, fields.roomId ?? roomId);
}

/** The served form of an event: client-server-api#redactions, "returned anytime ... requests it". */
export function redactedRoomEvent(event: RoomEvent): RoomEvent {
  return storedRoomEvent(redactEvent(event.pdu, event.roomVersion), event.roomVersion, event.eventId, event.roomId);
}

export function knownFromStored(stored: StoredEvent): KnownEvent {
  const version = getRoomVersion(stored.roomVersion);
  if (version === undefined) throw new Error(`event ${stored.eventId} is in a room of unknown version ${stored.roomVersion}`);
  let event = storedRoomEvent(stored.pdu, version, stored.eventId, stored.roomId);
  if (stored.redactedBy !== null && !stored.contentPurged) event = redactedRoomEvent(event);
  return {
    event,
    outlier: stored.outlier,
    backfilled: stored.backfilled,
    softFailed: stored.softFailed,
    rejectedReason: stored.rejectedReason ?? undefined,
    redactedBy: stored.redactedBy ?? undefined,
    stateBefore: stored.stateBefore ?? undefined,
    stateAfter: stored.stateAfter ?? undefined,
    streamOrdering: stored.streamOrdering ?? undefined,
  };
}

/**
 * Committed events by ID. Entries are replaced, never edited, when a batch changes them.
 *
 * State events have a cache of their own: every new event needs three or four of them (its auth
 * events: the create event, power levels, its sender's membership...), while a message is rarely
 * read again once the events after it are in. In one cache, a room's stream of messages would push
 * out the member events its senders' next messages need (a room of 10,000 members each speaking
 * once every 10,000 events would never find them).
 */
export class EventCache {
  readonly #stateEvents: LruMap<string, KnownEvent>;
  readonly #otherEvents: LruMap<string, KnownEvent>;

  constructor(capacity: number, stateCapacity: number = capacity) {
    this.#otherEvents = new LruMap(capacity);
    this.#stateEvents = new LruMap(stateCapacity);
  }

  get(eventId: string): KnownEvent | undefined {
    return this.#stateEvents.get(eventId) ?? this.#otherEvents.get(eventId);
  }

  set(known: KnownEvent): void {
    // Redaction keeps state_key, so an event stays in the cache it started in.
    if (known.event.stateKey === undefined) this.#otherEvents.set(known.event.eventId, known);
    else this.#stateEvents.set(known.event.eventId, known);
  }

  delete(eventId: string): void {
    this.#stateEvents.delete(eventId);
    this.#otherEvents.delete(eventId);
  }

  clear(): void {
    this.#stateEvents.clear();
    this.#otherEvents.clear();
  }
}
