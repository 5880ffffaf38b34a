// Membership events built for another server's user, or by us outside the pipeline: the
// templates of /make_join, /make_leave and /make_knock (server-server-api#joining-rooms) and our
// invites of remote users, which their server signs before we store them
// (server-server-api#inviting-to-a-room). Built like the pipeline builds ours: prev_events are the
// forward extremities, auth_events "Auth events selection" over the current state.
import { randomBytes } from "node:crypto";
import { authEventsSelection, checkEventAuth, type AuthResult, type AuthStateLookup } from "../../core/auth/index.ts";
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../../core/crypto/base64.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { signJson } from "../../core/crypto/signing.ts";
import { eventJsonOptions } from "../../core/events/event-json.ts";
import { MAX_PREV_EVENTS } from "../../core/events/format.ts";
import { computeContentHash, computeReferenceHash } from "../../core/events/hashes.ts";
import { toRoomEvent } from "../../core/events/pdu.ts";
import { redactEvent } from "../../core/events/redaction.ts";
import { stateMapKey, type Pdu, type RoomEvent, type StateMap } from "../../core/events/room-event.ts";
import { hashAndSignEvent } from "../../core/events/sign.ts";
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomReader } from "./room-reader.ts";

export interface EventDraft {
  readonly roomId: string;
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
}

export interface BuiltTemplate {
  readonly version: RoomVersion;
  /** The event without hashes or signatures. */
  readonly template: Pdu;
  /** The current state of the room it was built on. */
  readonly state: StateMap;
  /** Reads the events of that state the auth rules may consult for this event. */
  readonly lookup: AuthStateLookup;
  /** Whether the auth rules allow it against that state. */
  readonly auth: AuthResult;
}

/** The state the spec suggests describing a room with to someone not in it (client-server-api#stripped-state). */
export const STRIPPED_STATE_TYPES: readonly string[] = [
  "m.room.create",
  "m.room.join_rules",
  "m.room.name",
  "m.room.avatar",
  "m.room.canonical_alias",
  "m.room.encryption",
  "m.room.topic",
];

function randomOpaqueId(): string {
  return encodeUnpaddedBase64Url(randomBytes(18));
}

/** How an event cites another: v1-v2 as [event ID, {sha256: reference hash}] (pdu_v1.yaml), later by ID. */
export function referenceTo(event: RoomEvent): JsonValue {
  if (event.roomVersion.eventIdFormat !== "v1") return event.eventId;
  return [event.eventId, { sha256: encodeUnpaddedBase64(computeReferenceHash(event.pdu, event.roomVersion)) }];
}

/** Checks an unsigned event against the auth rules: hashed (and for v1-v2 given an ID) to be readable. */
export function authCheckDraft(template: Pdu, version: RoomVersion, lookup: AuthStateLookup, serverName: string): AuthResult {
  // The rules only look for a signature of the authorising server of a restricted join (ours,
  // added once the joining server signed): a placeholder stands in for it here.
  const readable: Pdu = { ...template, hashes: { sha256: computeContentHash(template, version) }, signatures: { [serverName]: { "ed25519:template": "" } } };
  if (version.eventIdFormat === "v1" && readable["event_id"] === undefined) readable["event_id"] = `$template:${serverName}`;
  let event: RoomEvent;
  try {
    event = toRoomEvent(readable, version);
  } catch (err) {
    return { allowed: false, reason: err instanceof Error ? err.message : String(err) };
  }
  return checkEventAuth(event, lookup);
}

/**
 * Completes a template into our event: our origin and timestamp, for v1-v2 an event ID of ours,
 * then the content hash and our signature. Fields the template had for signing are dropped.
 */
export function completeEvent(template: Pdu, version: RoomVersion, serverName: string, key: SigningKey, now: number): Pdu {
  const { signatures: _s, hashes: _h, unsigned: _u, event_id: _e, ...rest } = template;
  const pdu: Pdu = { ...rest, origin: serverName, origin_server_ts: now };
  if (version.eventIdFormat === "v1") pdu["event_id"] = `$${randomOpaqueId()}:${serverName}`;
  return hashAndSignEvent(pdu, version, serverName, key);
}

/**
 * Adds our signature to another server's event, leaving its hashes and other signatures as they
 * are (so its event ID does not change): restricted joins we authorise, invites of our users.
 */
export function addSignature(pdu: Pdu, version: RoomVersion, serverName: string, key: SigningKey): Pdu {
  const signed = signJson(redactEvent(pdu, version), serverName, key, eventJsonOptions(version));
  const ours = isJsonObject(signed["signatures"]) ? signed["signatures"][serverName] : undefined;
  const signatures = isJsonObject(pdu["signatures"]) ? { ...pdu["signatures"] } : {};
  if (isJsonObject(ours)) signatures[serverName] = { ...(isJsonObject(signatures[serverName]) ? signatures[serverName] : {}), ...ours };
  return { ...pdu, signatures };
}

export class EventTemplates {
  readonly #reader: RoomReader;
  readonly #serverName: string;
  readonly #now: () => number;

  constructor(reader: RoomReader, serverName: string, now: () => number = Date.now) {
    this.#reader = reader;
    this.#serverName = serverName;
    this.#now = now;
  }

  /** The room's current state and a lookup over the events at these keys. */
  async stateLookup(roomId: string, keys: readonly string[]): Promise<{ state: StateMap; lookup: AuthStateLookup; events: Map<string, RoomEvent> } | undefined> {
    const state = await this.#reader.currentState(roomId);
    if (state === undefined) return undefined;
    const ids = keys.flatMap((k) => state.get(k) ?? []);
    const read = await this.#reader.events(ids);
    const events = new Map([...read].map(([id, r]) => [id, r.event]));
    const lookup: AuthStateLookup = (type, stateKey) => {
      const id = state.get(stateMapKey(type, stateKey));
      return id === undefined ? undefined : events.get(id);
    };
    return { state, lookup, events };
  }

  /** A template of the event on the room's current state. Throws 404 M_NOT_FOUND for a room unknown here. */
  async build(draft: EventDraft): Promise<BuiltTemplate> {
    const version = await this.#reader.roomVersion(draft.roomId);
    if (version === undefined) throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
    const selection = authEventsSelection({ type: draft.type, stateKey: draft.stateKey, sender: draft.sender, content: draft.content }, version);
    const keys = [...selection.map(([type, stateKey]) => stateMapKey(type, stateKey)), stateMapKey("m.room.create", "")];
    const [context, extremityIds] = await Promise.all([this.stateLookup(draft.roomId, keys), this.#reader.forwardExtremities(draft.roomId)]);
    if (context === undefined || extremityIds.length === 0) throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
    const extremities = [...(await this.#reader.events(extremityIds)).values()]
      .map((r) => r.event)
      .sort((a, b) => b.depth - a.depth || (a.eventId < b.eventId ? -1 : 1))
      .slice(0, MAX_PREV_EVENTS);
    const authEvents = selection.flatMap(([type, stateKey]) => {
      const id = context.state.get(stateMapKey(type, stateKey));
      const event = id === undefined ? undefined : context.events.get(id);
      return event === undefined ? [] : [event];
    });
    const depth = Math.min(extremities.reduce((max, e) => Math.max(max, e.depth), 0) + 1, Number.MAX_SAFE_INTEGER);
    const template: Pdu = {
      room_id: draft.roomId,
      type: draft.type,
      sender: draft.sender,
      content: draft.content,
      depth,
      prev_events: extremities.map(referenceTo),
      auth_events: authEvents.map(referenceTo),
      origin: this.#serverName,
      origin_server_ts: this.#now(),
    };
    if (draft.stateKey !== undefined) template["state_key"] = draft.stateKey;
    const auth = authCheckDraft(template, version, context.lookup, this.#serverName);
    return { version, template, state: context.state, lookup: context.lookup, auth };
  }

  /** The events describing a room to someone outside it (invite_room_state, knock_room_state), as full PDUs. */
  async strippedState(roomId: string, extra: readonly string[] = []): Promise<Pdu[]> {
    const state = await this.#reader.currentState(roomId);
    if (state === undefined) return [];
    const ids = [...STRIPPED_STATE_TYPES.map((type) => stateMapKey(type, "")), ...extra].flatMap((k) => state.get(k) ?? []);
    const events = await this.#reader.events(ids);
    return ids.flatMap((id) => {
      const read = events.get(id);
      return read === undefined ? [] : [read.event.pdu];
    });
  }
}
