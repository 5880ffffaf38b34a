// One input through server-server-api "Checks performed on receipt of a PDU", in order, within
// its room's batch: 1 valid event, 2 signatures, 3 hashes, 4 auth events, 5 state before,
// 6 soft failure, 7 the policy server's signature. Every step only reads; the batch is changed at
// the very end, in one synchronous step, so a step that fails (or throws) leaves the batch as it was.
import type { AuthResult } from "../../core/auth/index.ts";
import { MatrixError } from "../../core/errors.ts";
import { EventFormatError } from "../../core/events/event-format-error.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { Pdu, RoomEvent, StateMap } from "../../core/events/room-event.ts";
import { hasPolicySignature } from "../../core/events/policy-server.ts";
import { isJsonObject } from "../../core/json.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import { StateSnapshot, changesBetween } from "../../storage/stores/state-snapshot.ts";
import type { Batch, PendingResult } from "./batch.ts";
import { authEventIdsOf, authEventsLookup, checkAgainstAuthEvents } from "./checks/auth-events.ts";
import { checkHashes } from "./checks/hashes.ts";
import { checkNoPrevEventsCycle } from "./checks/prev-events.ts";
import { checkSignatures } from "./checks/signatures.ts";
import { checkSoftFailure } from "./checks/soft-failure.ts";
import { authStateIdsAt, authStateKeys, checkAgainstState, resolveStates, sameState } from "./checks/state-before.ts";
import { checkValidEvent, invalidEvent } from "./checks/valid-event.ts";
import type { PduBytes } from "./checks/pdu-bytes.ts";
import type { KnownEvent } from "./known-event.ts";
import { redactedRoomEvent } from "./known-event.ts";
import { buildLocalEvent, choosePrevEvents, selectAuthEvents } from "./local-event.ts";
import { applyRedaction, redactionApplies, redactionsWaitingFor, settleWaitingRedactions } from "./redactions.ts";
import type { WaitingRedactions } from "./redactions.ts";
import type { KeyRing } from "./keyring.ts";
import { policyChecks, policyServerIn } from "./policy-server.ts";
import type { InputKind, InputResult, LocalEventRequest } from "./types.ts";

/** One input as the room's queue holds it. */
export interface WorkItem {
  readonly kind: InputKind;
  /** A received PDU, or undefined for a local event still to build. */
  readonly pdu: Pdu | undefined;
  readonly local: LocalEventRequest | undefined;
  /** Built and signed here: signatures and hashes need no checking. */
  readonly trusted: boolean;
  readonly roomVersion: string | undefined;
  readonly stateBefore: StateMap | undefined;
  readonly origin: string | undefined;
}

const CREATE_KEY = stateMapKey("m.room.create", "");
const NONE_WAITING: WaitingRedactions = { applying: [], settled: [] };

function refused(reason: string, eventId?: string, formatError?: EventFormatError): PendingResult {
  const result: InputResult = formatError === undefined ? { outcome: "refused", eventId, reason } : { outcome: "refused", eventId, reason, formatError };
  return () => result;
}

/** The result for an event stored before: what was decided then. */
function duplicate(known: KnownEvent): PendingResult {
  const { eventId, roomId } = known.event;
  if (known.rejectedReason !== undefined) {
    return () => ({ outcome: "rejected", eventId, roomId, reason: known.rejectedReason as string, duplicate: true });
  }
  if (known.softFailed) return () => ({ outcome: "soft_failed", eventId, roomId, reason: "soft failed before", duplicate: true });
  return () => ({ outcome: "accepted", eventId, roomId, streamOrdering: known.streamOrdering, redactedOnReceipt: false, duplicate: true });
}

/** The version of a room not stored yet: the one given, or its create event's `room_version` (default "1"). */
function versionOfNewRoom(item: WorkItem): RoomVersion | string {
  if (item.roomVersion !== undefined) return getRoomVersion(item.roomVersion) ?? `unsupported room version ${item.roomVersion}`;
  const pdu = item.pdu;
  if (pdu === undefined || pdu["type"] !== "m.room.create" || !isJsonObject(pdu["content"])) {
    return "the room is not known here, and its version was not given";
  }
  const id = pdu["content"]["room_version"] ?? "1"; // client-server-api#mroomcreate: "Defaults to "1" if the key does not exist."
  return (typeof id === "string" ? getRoomVersion(id) : undefined) ?? `unsupported room version ${JSON.stringify(id)}`;
}

/**
 * The PDU as stored: without `unsigned`, which is the sender's and covered by no hash or signature.
 * Its canonical JSON when checkValidEvent encoded it already (`bytes`).
 */
function storedJson(pdu: Pdu, bytes: PduBytes | undefined): string {
  if (bytes !== undefined && bytes.pdu === pdu) return bytes.stored();
  const { unsigned: _unsigned, ...rest } = pdu;
  return JSON.stringify(rest);
}

async function buildLocal(batch: Batch, request: LocalEventRequest, version: RoomVersion): Promise<{ pdu: Pdu; bytes: PduBytes } | string> {
  const prevIds = choosePrevEvents(batch.extremities);
  if (prevIds.length === 0) return "the room has no forward extremities here: is it known?";
  const prevs = await batch.getEvents(prevIds);
  const authIds = selectAuthEvents(request, version, batch.currentState);
  const authEvents = await batch.getEvents(authIds);
  const prevEvents: RoomEvent[] = prevIds.flatMap((id) => prevs.get(id)?.event ?? []);
  const stateEvents = new Map([...authEvents].map(([id, known]) => [id, known.event]));
  return buildLocalEvent(
    { request, version, prevEvents, state: batch.currentState, stateEvents, now: batch.deps.now() },
    batch.deps.signer,
  );
}

/** What was found out about an input before its turn: its event (step 1) and its running signature check (step 2). */
export interface PreparedInput {
  readonly event: RoomEvent;
  /** Its PDU's canonical encodings. */
  readonly bytes: PduBytes;
  readonly signatures: Promise<string | undefined>;
}

/**
 * Steps 1 and 2 ahead of an input's turn, for a received event of a known room: parsed now, its
 * signatures verified meanwhile (on the thread pool). Undefined when step 1 fails: its turn says why.
 */
export function prepareInput(item: WorkItem, version: RoomVersion, roomId: string, keyRing: KeyRing): PreparedInput | undefined {
  if (item.pdu === undefined) return undefined;
  const checked = checkValidEvent(item.pdu, version, roomId);
  if ("reason" in checked) return undefined;
  const { event, bytes } = checked;
  const signatures = item.trusted
    ? Promise.resolve(undefined)
    : checkSignatures(event, keyRing, bytes).catch((err: unknown) => `the signature check failed: ${String(err)}`);
  return { event, bytes, signatures };
}

/**
 * Prepares the batch's inputs not prepared yet, and loads the events they name (themselves, their
 * prev_events and auth events) in one read.
 */
export async function prepareBatch(batch: Batch, items: ReadonlyArray<{ item: WorkItem; prepared?: PreparedInput }>): Promise<Map<WorkItem, PreparedInput>> {
  const prepared = new Map<WorkItem, PreparedInput>();
  const version = batch.version;
  if (version === undefined) return prepared;
  const ids: string[] = [];
  for (const { item, prepared: early } of items) {
    const input = early ?? prepareInput(item, version, batch.room.roomId, batch.deps.keyRing);
    if (input === undefined) continue;
    prepared.set(item, input);
    const event = input.event;
    ids.push(event.eventId, ...event.prevEventIds, ...authEventIdsOf(event));
  }
  if (ids.length > 0) await batch.prefetch(ids);
  return prepared;
}

/** Runs one input through the checks and, unless it is refused, adds it to the batch. */
export async function processEvent(batch: Batch, item: WorkItem, prepared?: PreparedInput): Promise<PendingResult> {
  const deps = batch.deps;
  let version = batch.version;
  if (version === undefined) {
    const found = versionOfNewRoom(item);
    if (typeof found === "string") return refused(found);
    version = found;
  }
  let pdu = item.pdu;
  let builtBytes: PduBytes | undefined;
  // A local event comes back built when it went to be signed by the room's policy server.
  if (item.local !== undefined && pdu === undefined) {
    try {
      const built = await buildLocal(batch, item.local, version);
      if (typeof built === "string") return refused(built);
      ({ pdu, bytes: builtBytes } = built);
    } catch (err) {
      if (err instanceof EventFormatError) {
        const invalid = invalidEvent(err);
        return refused(invalid.reason, undefined, invalid.formatError);
      }
      if (err instanceof MatrixError) return refused(err.message);
      throw err;
    }
  }
  if (pdu === undefined) return refused("no event given");

  // 1. "Is a valid event, otherwise it is dropped."
  const valid = prepared ?? checkValidEvent(pdu, version, batch.room.roomId, builtBytes);
  if ("reason" in valid) return refused(valid.reason, valid.eventId, valid.formatError);
  let event = valid.event;
  const bytes = valid.bytes;
  const eventId = event.eventId;

  // Each question to the batch is answered from memory when it can be (`loaded`): a promise less.
  const ownIds = [eventId];
  // An event built just now on the current extremities and clock can only be stored already if an
  // identical one was built in the same millisecond, which this batch or the cache would hold: no
  // read for it (one per send) unless its timestamp was given.
  const justBuilt = item.local !== undefined && item.pdu === undefined && item.local.originServerTs === undefined;
  const existing = justBuilt ? batch.inMemory(eventId) : (batch.loaded(ownIds) ?? (await batch.getEvents(ownIds))).get(eventId);
  // An outlier that now finds its place in the room is promoted; anything else stored is a duplicate.
  const promoting = existing !== undefined && existing.outlier && item.kind !== "outlier" && item.kind !== "out_of_band" && existing.rejectedReason === undefined;
  if (existing !== undefined && !promoting) return duplicate(existing);
  if (existing !== undefined) event = existing.event;
  const currentCreate = batch.currentState.get(CREATE_KEY);
  if (event.type === "m.room.create" && currentCreate !== undefined && currentCreate !== eventId) {
    return refused("the room has a create event already", eventId);
  }

  // 2. "Passes signature checks, otherwise it is dropped."
  if (!item.trusted && !promoting) {
    const bad = await (prepared?.signatures ?? checkSignatures(event, deps.keyRing, bytes));
    if (bad !== undefined) return refused(bad, eventId);
  }
  // 3. "Passes hash checks, otherwise it is redacted before being processed further."
  let redactedOnReceipt = false;
  if (!item.trusted && !promoting) {
    const hashed = checkHashes(event, bytes);
    event = hashed.event;
    redactedOnReceipt = hashed.redacted;
  }

  // An out-of-band membership's auth events are in a room we are not in: checks 1-3 only.
  if (item.kind === "out_of_band") return addOutOfBand(batch, event, bytes, redactedOnReceipt);

  // 4. "Passes authorisation rules based on the event's auth events, otherwise it is rejected."
  const authIds = authEventIdsOf(event);
  const authKnown = batch.loaded(authIds) ?? (await batch.getEvents(authIds));
  let rejectedReason: string | undefined;
  if (!promoting) {
    const missing = authIds.filter((id) => !authKnown.has(id));
    // Not a rejection: the event may pass once they are fetched (the caller's job).
    if (missing.length > 0) return refused(`missing auth events: ${missing.join(", ")}`, eventId);
    const byAuthEvents = checkAgainstAuthEvents(event, authKnown);
    if (!byAuthEvents.allowed) rejectedReason = `by its auth events: ${byAuthEvents.reason}`;
  }

  if (item.kind === "outlier") {
    return addOutlier(batch, event, bytes, rejectedReason, redactedOnReceipt);
  }

  // 5. "Passes authorisation rules based on the state before the event, otherwise it is rejected."
  const prevs = batch.loaded(event.prevEventIds) ?? (await batch.getEvents(event.prevEventIds));
  const unplaced = event.prevEventIds.filter((id) => prevs.get(id) === undefined || prevs.get(id)?.outlier === true);
  if (unplaced.length > 0 && item.stateBefore === undefined) {
    return refused(`missing prev_events: ${unplaced.join(", ")}`, eventId);
  }
  if (version.eventIdFormat === "v1") {
    const cycle = await checkNoPrevEventsCycle(eventId, event.prevEventIds, (ids) => childrenOf(batch, ids));
    if (cycle !== undefined) return refused(cycle, eventId);
  }
  const states: StateSnapshot[] = [];
  for (const id of event.prevEventIds) {
    const prev = prevs.get(id);
    if (prev === undefined || prev.outlier) continue;
    const after = prev.stateAfter instanceof StateSnapshot ? prev.stateAfter : await batch.stateAfter(prev);
    if (after !== undefined) states.push(after);
  }
  if (item.stateBefore !== undefined) {
    const ids = [...new Set(item.stateBefore.values())];
    const found = await batch.getEvents(ids);
    const absent = ids.filter((id) => !found.has(id));
    if (absent.length > 0) return refused(`the state given with the event names events not stored: ${absent.slice(0, 5).join(", ")}`, eventId);
    states.push(batch.snapshotOfMap(item.stateBefore));
  }
  if (states.length === 0) {
    if (event.type !== "m.room.create") return refused("the event cites no prev_events and no state was given", eventId);
    states.push(StateSnapshot.empty());
  }
  const stateBefore = sameState(states) ?? (await resolveStates(version, states, batch.source()));
  const authKeys = authStateKeys(event);
  let byState: AuthResult | undefined;
  if (rejectedReason === undefined) {
    const ids = authStateIdsAt(authKeys, stateBefore);
    byState = checkAgainstState(event, stateBefore, batch.loaded(ids) ?? (await batch.getEvents(ids)));
    if (!byState.allowed) rejectedReason = `by the state before it: ${byState.reason}`;
  }

  // 6. "Passes authorisation rules based on the current state of the room, otherwise it is soft failed."
  let softFailedReason: string | undefined;
  if (item.kind === "new" && rejectedReason === undefined) {
    const current = batch.currentState;
    // Usually the state before the event is the current state: the same check has just passed.
    let byCurrent = current === stateBefore ? byState : undefined;
    if (byCurrent === undefined) {
      const ids = authStateIdsAt(authKeys, current);
      byCurrent = checkSoftFailure(event, current, batch.loaded(ids) ?? (await batch.getEvents(ids)));
    }
    if (!byCurrent.allowed) softFailedReason = `by the current state: ${byCurrent.reason}`;
  }
  // 7. (v1.18) "Is validated by the Policy Server, if the room is using a Policy Server, otherwise it is soft failed."
  if (item.kind === "new" && rejectedReason === undefined && softFailedReason === undefined && policyChecks(event.type, event.stateKey, event.sender, deps.signer.serverName, item.local !== undefined)) {
    const policy = await policyServerIn(batch.currentState, deps.signer.serverName, async (ids) => batch.loaded(ids) ?? (await batch.getEvents(ids)));
    if (policy !== undefined && !hasPolicySignature(event.pdu, version, policy)) {
      // Ours is not sent unsigned (server-server-api#validating-policy-server-signatures): the caller asks for the signature.
      if (item.local !== undefined) {
        const wanted = { pdu: event.pdu, policyServer: policy };
        return () => ({ outcome: "refused", eventId, reason: `the room's policy server ${policy.via} has not signed it`, policySignatureWanted: wanted });
      }
      softFailedReason = `not signed by the room's policy server ${policy.via}`;
    }
  }
  const accepted = rejectedReason === undefined;
  // server-server-api#rejection: the state is "calculated as normal, except not updating with the rejected event".
  const stateAfter =
    accepted && event.stateKey !== undefined ? stateBefore.apply(new Map([[stateMapKey(event.type, event.stateKey), eventId]])) : stateBefore;

  // The forward extremities and current state move with live events only (server-server-api#soft-failure:
  // soft-failed events are not "added to the server's list of forward extremities").
  let extremities: Map<string, number> | undefined;
  let currentState: StateSnapshot | undefined;
  if (item.kind === "new" && accepted && softFailedReason === undefined) {
    extremities = new Map(batch.extremities);
    for (const prev of event.prevEventIds) extremities.delete(prev);
    extremities.set(eventId, event.depth);
    // The event itself is not in the batch yet, but the resolution must see it.
    const candidate: KnownEvent = { event, outlier: false, backfilled: false, softFailed: false, rejectedReason, redactedBy: undefined, stateBefore, stateAfter, streamOrdering: undefined };
    currentState = extremities.size === 1 ? stateAfter : await currentStateAt(batch, version, extremities, candidate, stateAfter);
  }

  // Redactions: this one's target, and those that were waiting for this event.
  const live = accepted && softFailedReason === undefined;
  let visible = item.kind === "new" && live;
  let redactionTarget: KnownEvent | undefined;
  let redactionWaits = false;
  if (live && event.type === "m.room.redaction" && event.redacts !== undefined) {
    const targetIds = [event.redacts];
    const target = (batch.loaded(targetIds) ?? (await batch.getEvents(targetIds))).get(event.redacts);
    if (target === undefined) {
      redactionWaits = true;
      visible = false;
    } else if (redactionApplies(event, target, authEventsLookup(event, authKnown))) {
      redactionTarget = target;
    } else {
      visible = false;
    }
  }
  const unredacted: KnownEvent = {
    event,
    outlier: false,
    backfilled: item.kind === "backfilled",
    softFailed: softFailedReason !== undefined,
    rejectedReason,
    redactedBy: undefined,
    stateBefore,
    stateAfter,
    streamOrdering: undefined,
  };
  const late = accepted && batch.pendingRedactions.has(eventId) ? await redactionsWaitingFor(batch, unredacted) : NONE_WAITING;

  // Nothing can fail from here: change the batch.
  const redactedBy = late.applying[0]?.event.eventId;
  const known: KnownEvent = redactedBy === undefined ? unredacted : { ...unredacted, event: redactedRoomEvent(event), redactedBy };
  batch.events.set(eventId, known);
  if (!promoting) batch.inserted.add(eventId);
  if (item.trusted) batch.local.add(eventId);
  // Only a send that is answered with its event ID is a transaction to remember.
  const transaction = item.local?.transaction;
  if (transaction !== undefined && live) batch.transactions.push({ key: transaction, eventId });
  batch.records.push({
    eventId,
    type: event.type,
    stateKey: event.stateKey,
    sender: event.sender,
    depth: event.depth,
    originServerTs: event.originServerTs,
    json: storedJson(event.pdu, bytes),
    prevEventIds: event.prevEventIds,
    authEventIds: authIds,
    outlier: false,
    backfilled: item.kind === "backfilled",
    softFailed: softFailedReason !== undefined,
    rejectedReason,
    stateBefore,
    stateAfter,
    replacesOutlier: promoting,
  });
  if (batch.version === undefined) batch.version = version;
  let stateDelta = new Map<string, string | null>();
  if (extremities !== undefined && currentState !== undefined) {
    stateDelta = changesBetween(batch.currentState, currentState);
    // A message leaves the state as it was (the same snapshot): the room's row is not rewritten.
    if (currentState !== batch.currentState) batch.currentStateChanged = true;
    batch.extremities = extremities;
    batch.currentState = currentState;
  }
  const forwardExtremities = [...batch.extremities.keys()];
  // An out-of-band membership taking its place in the room has its stream position already.
  if (visible && !(promoting && existing?.streamOrdering !== undefined)) {
    batch.stream.push(eventId);
    batch.outputs.push((positions) => {
      const streamOrdering = positions.get(eventId);
      if (streamOrdering === undefined) return undefined;
      const served = batch.events.get(eventId)?.event ?? event;
      return { kind: "new_room_event", roomId: event.roomId, event: served, streamOrdering, local: item.trusted, stateDelta, forwardExtremities };
    });
  }
  if (redactionTarget !== undefined) applyRedaction(batch, event, redactionTarget);
  if (redactionWaits && event.redacts !== undefined) {
    batch.newPendingRedactions.push({ redactionId: eventId, redacts: event.redacts });
    batch.pendingRedactions.set(event.redacts, [...(batch.pendingRedactions.get(event.redacts) ?? []), eventId]);
  }
  settleWaitingRedactions(batch, known, late);

  return (positions) => {
    if (rejectedReason !== undefined) return { outcome: "rejected", eventId, roomId: event.roomId, reason: rejectedReason, duplicate: false };
    if (softFailedReason !== undefined) return { outcome: "soft_failed", eventId, roomId: event.roomId, reason: softFailedReason, duplicate: false };
    return { outcome: "accepted", eventId, roomId: event.roomId, streamOrdering: positions.get(eventId), redactedOnReceipt, duplicate: false };
  };
}

function addOutlier(batch: Batch, event: RoomEvent, bytes: PduBytes, rejectedReason: string | undefined, redactedOnReceipt: boolean): PendingResult {
  const eventId = event.eventId;
  batch.events.set(eventId, {
    event,
    outlier: true,
    backfilled: false,
    softFailed: false,
    rejectedReason,
    redactedBy: undefined,
    stateBefore: undefined,
    stateAfter: undefined,
    streamOrdering: undefined,
  });
  batch.inserted.add(eventId);
  batch.records.push({
    eventId,
    type: event.type,
    stateKey: event.stateKey,
    sender: event.sender,
    depth: event.depth,
    originServerTs: event.originServerTs,
    json: storedJson(event.pdu, bytes),
    prevEventIds: event.prevEventIds,
    authEventIds: authEventIdsOf(event),
    outlier: true,
    backfilled: false,
    softFailed: false,
    rejectedReason,
    stateBefore: undefined,
    stateAfter: undefined,
    replacesOutlier: false,
  });
  if (batch.version === undefined) batch.version = event.roomVersion;
  return () =>
    rejectedReason !== undefined
      ? { outcome: "rejected", eventId, roomId: event.roomId, reason: rejectedReason, duplicate: false }
      : { outcome: "accepted", eventId, roomId: event.roomId, streamOrdering: undefined, redactedOnReceipt, duplicate: false };
}

/** An out-of-band membership: an outlier with a place in the room stream, told as such. */
function addOutOfBand(batch: Batch, event: RoomEvent, bytes: PduBytes, redactedOnReceipt: boolean): PendingResult {
  const eventId = event.eventId;
  const pending = addOutlier(batch, event, bytes, undefined, redactedOnReceipt);
  batch.stream.push(eventId);
  batch.outputs.push((positions) => {
    const streamOrdering = positions.get(eventId);
    if (streamOrdering === undefined) return undefined;
    return { kind: "new_room_event", roomId: event.roomId, event, streamOrdering, local: false, outOfBand: true, stateDelta: new Map(), forwardExtremities: [...batch.extremities.keys()] };
  });
  return (positions) => {
    const result = pending(positions);
    return result.outcome === "accepted" ? { ...result, streamOrdering: positions.get(eventId) } : result;
  };
}

/** The room's current state once `extremities` are its forward extremities. */
async function currentStateAt(
  batch: Batch,
  version: RoomVersion,
  extremities: ReadonlyMap<string, number>,
  candidate: KnownEvent,
  stateAfter: StateSnapshot,
): Promise<StateSnapshot> {
  const eventId = candidate.event.eventId;
  if (extremities.size === 1) return stateAfter;
  const others = await batch.getEvents([...extremities.keys()].filter((id) => id !== eventId));
  const states = [stateAfter];
  for (const known of others.values()) {
    const after = await batch.stateAfter(known);
    if (after !== undefined) states.push(after);
  }
  return await resolveStates(version, states, batch.source(candidate));
}

/** Children of events (the stored ones and this batch's), for the cycle check. */
async function childrenOf(batch: Batch, ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = await batch.deps.store.childrenOf(ids);
  const wanted = new Set(ids);
  for (const [id, known] of batch.events) {
    for (const prev of known.event.prevEventIds) {
      if (wanted.has(prev)) out.set(prev, [...(out.get(prev) ?? []), id]);
    }
  }
  return out;
}
