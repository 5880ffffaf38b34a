// A small factory of rooms and events for the authorization rule tests. Events are RoomEvent
// views built directly (their `pdu` a minimal object), rooms a state map the rules look into.

import type { JsonObject } from "../../../src/core/json.ts";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { checkEventAuth } from "../../../src/core/auth/index.ts";
import type { AuthResult, AuthStateLookup } from "../../../src/core/auth/index.ts";
import { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";

export { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";

export const ALICE = "@alice:example.org"; // the room's creator
export const BOB = "@bob:example.org"; // a moderator (50)
export const CAROL = "@carol:example.org"; // a plain member (0)
export const DAVE = "@dave:example.org"; // not in the room
export const EVE = "@eve:elsewhere.test"; // a user of another server

/** Versions from `from` to `to` inclusive, by number. */
export function versionsBetween(from: number, to: number): string[] {
  return ALL_VERSIONS.filter((id) => Number(id) >= from && Number(id) <= to);
}

let counter = 0;

function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(":") + 1);
}

export interface EventSpec {
  type: string;
  sender: string;
  stateKey?: string;
  content?: JsonObject;
  prevEventIds?: string[];
  authEventIds?: string[];
  redacts?: string;
  eventId?: string;
  roomId?: string;
  pdu?: JsonObject;
}

/** A RoomEvent of `room`'s version; its event ID is fresh unless given (v1-v2: on the sender's server). */
export function makeEvent(v: RoomVersion, roomId: string, spec: EventSpec): RoomEvent {
  counter += 1;
  const eventId = spec.eventId ?? (v.eventIdFormat === "v1" ? `$ev${counter}:${serverOf(spec.sender)}` : `$ev${counter}`);
  return {
    eventId,
    roomId: spec.roomId ?? roomId,
    type: spec.type,
    stateKey: spec.stateKey,
    sender: spec.sender,
    content: spec.content ?? {},
    originServerTs: 1_700_000_000_000 + counter,
    depth: counter,
    prevEventIds: spec.prevEventIds ?? ["$previous"],
    authEventIds: spec.authEventIds ?? [],
    redacts: spec.redacts,
    roomVersion: v,
    pdu: spec.pdu ?? { room_id: spec.roomId ?? roomId, signatures: { [serverOf(spec.sender)]: { "ed25519:a": "sig" } } },
  };
}

/** The create event of a new room, with its room ID (v12: the create event's ID with `!`). */
export function makeCreate(v: RoomVersion, options: { sender?: string; content?: JsonObject } = {}): RoomEvent {
  const sender = options.sender ?? ALICE;
  counter += 1;
  const content: JsonObject = options.content ?? {
    room_version: v.id,
    ...(v.creatorInContent ? { creator: sender } : {}),
  };
  if (v.roomIdFromCreateEvent) {
    const eventId = `$create${counter}`;
    return makeEvent(v, `!create${counter}`, {
      type: "m.room.create",
      sender,
      stateKey: "",
      content,
      prevEventIds: [],
      eventId,
      pdu: { signatures: {} },
    });
  }
  const roomId = `!room${counter}:${serverOf(sender)}`;
  return makeEvent(v, roomId, { type: "m.room.create", sender, stateKey: "", content, prevEventIds: [] });
}

export function defaultPowerLevels(v: RoomVersion): JsonObject {
  return {
    users: v.privilegedCreators ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 },
    users_default: 0,
    events: { "m.room.power_levels": 100, "m.room.name": 50 },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
  };
}

export interface RoomOptions {
  joinRule?: string | null;
  powerLevels?: JsonObject | null;
  members?: Record<string, string>;
  create?: RoomEvent;
}

/** A room's state, as a map the rules can look into, and a way to make events in it. */
export class TestRoom {
  readonly version: RoomVersion;
  readonly create: RoomEvent;
  readonly state = new Map<string, RoomEvent>();

  constructor(versionId: string, options: RoomOptions = {}) {
    this.version = version(versionId);
    this.create = options.create ?? makeCreate(this.version);
    this.put(this.create);
    const members = options.members ?? { [ALICE]: "join", [BOB]: "join", [CAROL]: "join" };
    for (const [userId, membership] of Object.entries(members)) this.member(userId, membership);
    if (options.powerLevels !== null) this.setState("m.room.power_levels", "", options.powerLevels ?? defaultPowerLevels(this.version));
    if (options.joinRule !== null) this.setState("m.room.join_rules", "", { join_rule: options.joinRule ?? "invite" });
  }

  get roomId(): string {
    return this.create.roomId;
  }

  event(spec: EventSpec): RoomEvent {
    return makeEvent(this.version, this.roomId, spec);
  }

  put(event: RoomEvent): this {
    if (event.stateKey !== undefined) this.state.set(stateMapKey(event.type, event.stateKey), event);
    return this;
  }

  remove(type: string, stateKey: string): this {
    this.state.delete(stateMapKey(type, stateKey));
    return this;
  }

  setState(type: string, stateKey: string, content: JsonObject, sender = ALICE): this {
    return this.put(this.event({ type, stateKey, sender, content }));
  }

  member(userId: string, membership: string, extra: JsonObject = {}): this {
    return this.setState("m.room.member", userId, { membership, ...extra }, userId);
  }

  get lookup(): AuthStateLookup {
    return (type, stateKey) => this.state.get(stateMapKey(type, stateKey));
  }

  check(spec: EventSpec): AuthResult {
    return checkEventAuth(this.event(spec), this.lookup);
  }
}

/** A member event spec. */
export function memberEvent(sender: string, target: string, membership: string, extra: JsonObject = {}): EventSpec {
  return { type: "m.room.member", sender, stateKey: target, content: { membership, ...extra } };
}

export interface AuthCase {
  name: string;
  versions: readonly string[];
  /** The room the event is checked in; a default room (invite-only, alice, bob, carol joined) if absent. */
  room?: (versionId: string) => TestRoom;
  /** The event, as a spec made in the room, or a RoomEvent built by hand. */
  event: (room: TestRoom) => EventSpec | RoomEvent;
  allowed: boolean;
  /** A pattern the rejection reason must match. */
  reason?: RegExp;
}

function isRoomEvent(value: EventSpec | RoomEvent): value is RoomEvent {
  return "roomVersion" in value;
}

/** Runs each case in each of its room versions, as one test each. */
export function runAuthCases(cases: readonly AuthCase[], it: (name: string, fn: () => void) => unknown): void {
  for (const c of cases) {
    for (const versionId of c.versions) {
      it(`${c.name} [v${versionId}]`, () => {
        const room = c.room ? c.room(versionId) : new TestRoom(versionId);
        const spec = c.event(room);
        const event = isRoomEvent(spec) ? spec : room.event(spec);
        const result = checkEventAuth(event, room.lookup);
        if (result.allowed !== c.allowed) {
          throw new Error(`expected ${c.allowed ? "allowed" : "rejected"}, got ${JSON.stringify(result)}`);
        }
        if (!result.allowed && c.reason !== undefined && !c.reason.test(result.reason)) {
          throw new Error(`rejection reason ${JSON.stringify(result.reason)} does not match ${String(c.reason)}`);
        }
      });
    }
  }
}
