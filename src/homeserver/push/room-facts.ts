// What push rules and notifications read of a room besides the event: its current power levels
// (sender_notification_permission), members' display names (contains_display_name,
// sender_display_name), its name and alias (push_notifier.yaml room_name, room_alias). Read from
// the room's current state, once per event however many users are evaluated.
import { powerLevelOf, parsePowerLevelValue } from "../../core/auth/power-levels.ts";
import type { RoomEvent } from "../../core/events/room-event.ts";
import { isJsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";

/** What is read of the room engine. */
export interface RoomStateSource {
  currentStateEventId(roomId: string, eventType: string, stateKey: string): Promise<string | undefined>;
  getEvent(eventId: string): Promise<{ readonly event: RoomEvent } | undefined>;
  roomVersion(roomId: string): Promise<RoomVersion | undefined>;
}

/** m.room.power_levels `notifications.room`: "Defaults to 50 if unspecified." */
const DEFAULT_ROOM_NOTIFICATION_LEVEL = 50;

export class RoomFacts {
  readonly #source: RoomStateSource;
  readonly #roomId: string;
  readonly #state = new Map<string, Promise<RoomEvent | undefined>>();

  constructor(source: RoomStateSource, roomId: string) {
    this.#source = source;
    this.#roomId = roomId;
  }

  /** A state event of the room's current state (remembered). */
  stateEvent(type: string, stateKey: string): Promise<RoomEvent | undefined> {
    const key = `${type}\u0000${stateKey}`;
    let found = this.#state.get(key);
    if (found === undefined) {
      found = this.#source.currentStateEventId(this.#roomId, type, stateKey).then(async (id) => (id === undefined ? undefined : (await this.#source.getEvent(id))?.event));
      this.#state.set(key, found);
    }
    return found;
  }

  /** The user's power level now (client-server-api#mroompower_levels; room creators' in v12). */
  async powerLevelOf(userId: string): Promise<number> {
    const [version, powerLevels, create] = await Promise.all([
      this.#source.roomVersion(this.#roomId),
      this.stateEvent("m.room.power_levels", ""),
      this.stateEvent("m.room.create", ""),
    ]);
    if (version === undefined) return 0;
    const state = new Map([
      ["m.room.power_levels", powerLevels],
      ["m.room.create", create],
    ]);
    return powerLevelOf(userId, (type, stateKey) => (stateKey === "" ? state.get(type) : undefined), version);
  }

  /**
   * The levels of the power levels' `notifications` (m.room.power_levels.yaml): `room` is 50 unless
   * given; another key has a level only when given.
   */
  async notificationLevels(): Promise<(key: string) => number | undefined> {
    const [version, powerLevels] = await Promise.all([this.#source.roomVersion(this.#roomId), this.stateEvent("m.room.power_levels", "")]);
    const notifications = powerLevels?.content["notifications"];
    const given = isJsonObject(notifications) ? notifications : {};
    return (key) => {
      const level = version === undefined || !Object.hasOwn(given, key) ? undefined : parsePowerLevelValue(given[key], version);
      return level ?? (key === "room" ? DEFAULT_ROOM_NOTIFICATION_LEVEL : undefined);
    };
  }

  /** The user's display name in the room (their m.room.member `displayname`), if any. */
  async displayName(userId: string): Promise<string | undefined> {
    const name = (await this.stateEvent("m.room.member", userId))?.content["displayname"];
    return typeof name === "string" && name.length > 0 ? name : undefined;
  }

  /** m.room.name `name`, if any. */
  async roomName(): Promise<string | undefined> {
    const name = (await this.stateEvent("m.room.name", ""))?.content["name"];
    return typeof name === "string" && name.length > 0 ? name : undefined;
  }

  /** m.room.canonical_alias `alias`, if any. */
  async roomAlias(): Promise<string | undefined> {
    const alias = (await this.stateEvent("m.room.canonical_alias", ""))?.content["alias"];
    return typeof alias === "string" && alias.length > 0 ? alias : undefined;
  }
}
