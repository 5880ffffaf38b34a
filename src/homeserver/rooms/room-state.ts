// A room's current state as this area reads it: a few state events by (type, state_key), loaded
// through the roomserver's public reads (its event cache serves repeated lookups), and the power
// checks the endpoints make before sending (client-server-api#mroompower_levels).
import { actionLevel, powerLevelOf, requiredPowerLevel } from "../../core/auth/index.ts";
import type { ActionLevel, AuthStateLookup } from "../../core/auth/index.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { RoomEvent, StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Roomserver } from "../roomserver/index.ts";

/** The state keys the power checks need. */
const POWER_KEYS: ReadonlyArray<readonly [string, string]> = [
  ["m.room.create", ""],
  ["m.room.power_levels", ""],
];

export class RoomState {
  readonly roomId: string;
  readonly version: RoomVersion;
  readonly map: StateMap;
  readonly #roomserver: Roomserver;
  readonly #events = new Map<string, RoomEvent | undefined>();

  constructor(roomId: string, version: RoomVersion, map: StateMap, roomserver: Roomserver) {
    this.roomId = roomId;
    this.version = version;
    this.map = map;
    this.#roomserver = roomserver;
  }

  /** The state event of (type, stateKey), if any. */
  async event(type: string, stateKey = ""): Promise<RoomEvent | undefined> {
    const key = stateMapKey(type, stateKey);
    if (this.#events.has(key)) return this.#events.get(key);
    const eventId = this.map.get(key);
    const event = eventId === undefined ? undefined : (await this.#roomserver.getEvent(eventId))?.event;
    this.#events.set(key, event);
    return event;
  }

  async content(type: string, stateKey = ""): Promise<JsonObject | undefined> {
    return (await this.event(type, stateKey))?.content;
  }

  /** A synchronous lookup over these keys (and the power keys), loaded first. */
  async lookup(keys: ReadonlyArray<readonly [string, string]> = []): Promise<AuthStateLookup> {
    await Promise.all([...POWER_KEYS, ...keys].map(([type, stateKey]) => this.event(type, stateKey)));
    return (type, stateKey) => this.#events.get(stateMapKey(type, stateKey));
  }

  async powerLevelOf(userId: string): Promise<number> {
    return powerLevelOf(userId, await this.lookup(), this.version);
  }

  /** Whether the user's power level reaches what sending this event type needs. */
  async maySend(userId: string, type: string, stateKey: string | undefined): Promise<boolean> {
    const lookup = await this.lookup();
    return powerLevelOf(userId, lookup, this.version) >= requiredPowerLevel(type, stateKey, lookup, this.version);
  }

  /** Whether the user's power level reaches the invite, kick, ban or redact level. */
  async mayAct(userId: string, action: ActionLevel): Promise<boolean> {
    const lookup = await this.lookup();
    return powerLevelOf(userId, lookup, this.version) >= actionLevel(action, lookup, this.version);
  }

  /** The user's membership in this state. */
  async membershipOf(userId: string): Promise<string | undefined> {
    const membership = (await this.content("m.room.member", userId))?.["membership"];
    return typeof membership === "string" ? membership : undefined;
  }

  /** A string field of a state event's content. */
  async stringField(type: string, field: string, stateKey = ""): Promise<string | undefined> {
    const value = (await this.content(type, stateKey))?.[field];
    return typeof value === "string" ? value : undefined;
  }
}

export class RoomStateReader {
  readonly #roomserver: Roomserver;

  constructor(roomserver: Roomserver) {
    this.#roomserver = roomserver;
  }

  /** Whether the room is stored here (with state: not only outliers of it). */
  async isKnown(roomId: string): Promise<boolean> {
    const room = await this.#roomserver.store.getRoom(roomId);
    return room !== undefined && room.currentStateGroup !== null;
  }

  /** The room's current state; undefined for a room not stored here. */
  async current(roomId: string): Promise<RoomState | undefined> {
    // Asked of the store first, so that unknown IDs do not make the engine load a room.
    const room = await this.#roomserver.store.getRoom(roomId);
    if (room === undefined || room.currentStateGroup === null) return undefined;
    const version = getRoomVersion(room.roomVersion);
    const map = await this.#roomserver.currentState(roomId);
    if (version === undefined || map === undefined) return undefined;
    return new RoomState(roomId, version, map, this.#roomserver);
  }
}
