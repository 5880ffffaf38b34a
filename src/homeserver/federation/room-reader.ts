// What federation reads of the room engine, in one place: events by ID (many at once), room
// versions, states, auth chains. Writes never happen here: everything enters through
// roomserver.input. Many-event reads use the engine's store directly (the roomserver has no
// batch read yet); a read of a few goes through roomserver.getEvent and its cache.
import type { RoomEvent, StateMap } from "../../core/events/room-event.ts";
import { getRoomVersion, type RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { StreamEntry } from "../../storage/stores/events.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { knownFromStored } from "../roomserver/known-event.ts";

/** An event as stored, served form (redacted once redacted), with what the pipeline decided. */
export interface ReadEvent {
  readonly event: RoomEvent;
  readonly outlier: boolean;
  readonly rejected: boolean;
  readonly softFailed: boolean;
  /** It came as history (backfill.ts), not live. */
  readonly backfilled: boolean;
  readonly streamOrdering: number | undefined;
}

/** Reads of a few events go through the engine's cache; more than this are one query. */
const FEW = 32;

export class RoomReader {
  readonly #roomserver: Roomserver;
  readonly #versions = new Map<string, RoomVersion>();
  readonly #withState = new Set<string>();

  constructor(roomserver: Roomserver) {
    this.#roomserver = roomserver;
  }

  async event(eventId: string): Promise<ReadEvent | undefined> {
    const info = await this.#roomserver.getEvent(eventId);
    if (info === undefined) return undefined;
    return {
      event: info.event,
      outlier: info.outlier,
      rejected: info.rejectedReason !== undefined,
      softFailed: info.softFailed,
      backfilled: info.backfilled,
      streamOrdering: info.streamOrdering,
    };
  }

  /** The stored events among these IDs. */
  async events(eventIds: readonly string[]): Promise<Map<string, ReadEvent>> {
    const ids = [...new Set(eventIds)];
    const out = new Map<string, ReadEvent>();
    if (ids.length <= FEW) {
      const found = await Promise.all(ids.map((id) => this.event(id)));
      ids.forEach((id, i) => {
        const read = found[i];
        if (read !== undefined) out.set(id, read);
      });
      return out;
    }
    for (const stored of (await this.#roomserver.store.getEvents(ids)).values()) {
      const known = knownFromStored(stored);
      out.set(stored.eventId, {
        event: known.event,
        outlier: known.outlier,
        rejected: known.rejectedReason !== undefined,
        softFailed: known.softFailed,
        backfilled: known.backfilled,
        streamOrdering: known.streamOrdering,
      });
    }
    return out;
  }

  /** The room's version, when the room is stored here. */
  async roomVersion(roomId: string): Promise<RoomVersion | undefined> {
    const cached = this.#versions.get(roomId);
    if (cached !== undefined) return cached;
    const room = await this.#roomserver.store.getRoom(roomId);
    const version = room === undefined ? undefined : getRoomVersion(room.roomVersion);
    if (version !== undefined) this.#versions.set(roomId, version);
    return version;
  }

  /**
   * Whether the room has state here (we took part in it at some point), not only outliers: an
   * invite received to a room we are not in, or its rejection, stores just those.
   */
  async hasState(roomId: string): Promise<boolean> {
    if (this.#withState.has(roomId)) return true;
    const room = await this.#roomserver.store.getRoom(roomId);
    // A room keeps its state once it has some: remembered.
    if (room === undefined || room.currentStateGroup === null) return false;
    this.#withState.add(roomId);
    return true;
  }

  currentState(roomId: string): Promise<StateMap | undefined> {
    return this.#roomserver.currentState(roomId);
  }

  /** The state before an event (undefined for unknown events and outliers). */
  stateBefore(eventId: string): Promise<StateMap | undefined> {
    return this.#roomserver.stateAt(eventId, "before");
  }

  stateAfter(eventId: string): Promise<StateMap | undefined> {
    return this.#roomserver.stateAt(eventId, "after");
  }

  /** The union of the auth chains of these events (server-server-api "Auth chain"), without them. */
  authChain(eventIds: readonly string[]): Promise<Set<string>> {
    return this.#roomserver.store.authChain(eventIds);
  }

  forwardExtremities(roomId: string): Promise<string[]> {
    return this.#roomserver.forwardExtremities(roomId);
  }

  /** The room's timeline after a stream position, oldest first. */
  roomStream(roomId: string, since: number, limit: number): Promise<StreamEntry[]> {
    return this.#roomserver.store.roomStream(roomId, since, limit);
  }
}
