// Test helpers for the room engine: a roomserver on a test database, and a second server with
// its own signing key that builds events of its own (hashed and signed) to send us.
import { authEventsSelection } from "../../../src/core/auth/index.ts";
import { signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import type { SigningKey } from "../../../src/core/crypto/ed25519.ts";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { Pdu, StateMap } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { computeReferenceHash } from "../../../src/core/events/hashes.ts";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import type { Database } from "../../../src/storage/database.ts";
import { MemoryKeyRing, Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import type { RoomserverOptions, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";

export const LOCAL = "local.test";
export const REMOTE = "remote.test";

export function keyFor(seed: number, version = "a"): SigningKey {
  return signingKeyFromSeed(new Uint8Array(32).fill(seed), version);
}

export const localKey = keyFor(1);
export const remoteKey = keyFor(2);

export function version(id: string): RoomVersion {
  const v = getRoomVersion(id);
  if (v === undefined) throw new Error(`no room version ${id}`);
  return v;
}

export interface TestEngine {
  readonly roomserver: Roomserver;
  readonly keyRing: MemoryKeyRing;
  readonly outputs: RoomserverOutput[];
}

/** A roomserver for LOCAL that knows REMOTE's key. */
export function startRoomserver(db: Database, options: Partial<RoomserverOptions> = {}): TestEngine {
  const keyRing = new MemoryKeyRing();
  keyRing.addSigningKey(LOCAL, localKey);
  keyRing.addSigningKey(REMOTE, remoteKey);
  const roomserver = new Roomserver({ db, serverName: LOCAL, signingKey: localKey, keyRing, ...options });
  const outputs: RoomserverOutput[] = [];
  roomserver.subscribe((o) => outputs.push(o));
  return { roomserver, keyRing, outputs };
}

export const local = (name: string): string => `@${name}:${LOCAL}`;
export const remote = (name: string): string => `@${name}:${REMOTE}`;

export interface RemoteEventSpec {
  readonly roomId: string;
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
  readonly prevEvents: readonly string[];
  readonly authEvents: readonly string[];
  readonly depth: number;
  readonly ts?: number;
  readonly extra?: JsonObject;
}

/** Another server: builds and signs PDUs with its own key. */
export class RemoteServer {
  readonly name: string;
  readonly key: SigningKey;
  readonly version: RoomVersion;
  /** PDUs it built or was given, by event ID: v1-v2 references carry their reference hashes. */
  readonly pdus = new Map<string, Pdu>();
  #clock = 1_800_000_000_000;
  #n = 0;

  constructor(name: string, key: SigningKey, roomVersion: RoomVersion) {
    this.name = name;
    this.key = key;
    this.version = roomVersion;
  }

  #ref(id: string): JsonValue {
    if (this.version.eventIdFormat !== "v1") return id;
    const pdu = this.pdus.get(id);
    const hash = pdu === undefined ? "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" : encodeUnpaddedBase64(computeReferenceHash(pdu, this.version));
    return [id, { sha256: hash }];
  }

  event(spec: RemoteEventSpec): Pdu {
    const pdu: Pdu = {
      room_id: spec.roomId,
      type: spec.type,
      sender: spec.sender,
      content: spec.content,
      origin_server_ts: spec.ts ?? (this.#clock += 1000),
      depth: spec.depth,
      prev_events: spec.prevEvents.map((id) => this.#ref(id)),
      auth_events: spec.authEvents.map((id) => this.#ref(id)),
    };
    if (this.version.eventIdFormat === "v1") pdu["event_id"] = `$r${++this.#n}:${this.name}`;
    Object.assign(pdu, spec.extra ?? {});
    if (spec.stateKey !== undefined) pdu["state_key"] = spec.stateKey;
    const signed = hashAndSignEvent(pdu, this.version, this.name, this.key);
    try {
      this.pdus.set(toRoomEvent(signed, this.version).eventId, signed);
    } catch {
      // An event built to be invalid (too large...): nothing will cite it.
    }
    return signed;
  }
}

/** The auth events an event should cite, selected from `state`. */
export function authEventsFrom(
  state: StateMap,
  spec: { type: string; stateKey?: string; sender: string; content: JsonObject },
  roomVersion: RoomVersion,
): string[] {
  return authEventsSelection({ type: spec.type, stateKey: spec.stateKey, sender: spec.sender, content: spec.content }, roomVersion)
    .map(([type, stateKey]) => state.get(stateMapKey(type, stateKey)))
    .filter((id): id is string => id !== undefined);
}

/** Creates a room of LOCAL: create, the creator's join, power levels, public join rules. */
export async function createLocalRoom(
  roomserver: Roomserver,
  roomVersion: string,
  creator = local("alice"),
  users: Record<string, number> = {},
): Promise<{ roomId: string; events: string[] }> {
  const v = version(roomVersion);
  const { roomId, eventId } = await roomserver.createRoom({ roomVersion, creator });
  const events = [eventId];
  const send = async (type: string, stateKey: string, content: JsonObject): Promise<void> => {
    events.push((await roomserver.createLocalEvent({ roomId, type, stateKey, sender: creator, content })).eventId);
  };
  await send("m.room.member", creator, { membership: "join" });
  await send("m.room.power_levels", "", { users: v.privilegedCreators ? users : { [creator]: 100, ...users } });
  await send("m.room.join_rules", "", { join_rule: "public" });
  return { roomId, events };
}

export function key(type: string, stateKey = ""): string {
  return stateMapKey(type, stateKey);
}

/** The event ID of a PDU in its room version. */
export function eventIdOf(pdu: Pdu, roomVersion: RoomVersion): string {
  return toRoomEvent(pdu, roomVersion).eventId;
}

export interface Placement {
  /** prev_events; the room's forward extremities by default. */
  readonly prevEvents?: readonly string[];
  /** auth_events; selected from the state after `authFrom` (or the current state) by default. */
  readonly authEvents?: readonly string[];
  /** The event whose state after it the auth events are selected from. */
  readonly authFrom?: string;
  readonly depth?: number;
  readonly extra?: JsonObject;
}

/** A remote event placed in the room as its server would place it, given what we have. */
export async function placeRemoteEvent(
  roomserver: Roomserver,
  server: RemoteServer,
  roomId: string,
  spec: { type: string; stateKey?: string; sender: string; content: JsonObject },
  placement: Placement = {},
): Promise<Pdu> {
  const prevEvents = placement.prevEvents ?? (await roomserver.forwardExtremities(roomId));
  const state = placement.authFrom !== undefined ? await roomserver.stateAt(placement.authFrom) : await roomserver.currentState(roomId);
  const authEvents = placement.authEvents ?? authEventsFrom(state ?? new Map(), spec, server.version);
  let depth = placement.depth;
  if (depth === undefined) {
    depth = 0;
    for (const id of prevEvents) depth = Math.max(depth, ((await roomserver.getEvent(id))?.event.depth ?? 0) + 1);
  }
  for (const id of [...prevEvents, ...authEvents]) {
    const known = await roomserver.getEvent(id);
    if (known !== undefined && !server.pdus.has(id)) server.pdus.set(id, known.event.pdu);
  }
  return server.event({ roomId, ...spec, prevEvents, authEvents, depth, extra: placement.extra });
}
