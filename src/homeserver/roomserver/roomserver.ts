// The room engine: the one event pipeline (ARCHITECTURE.md "One event pipeline"). Every event,
// built here or received, enters `input` with its kind, waits in its room's queue (rooms run in
// parallel), goes through the checks on receipt of a PDU, is persisted with its state, and only
// then is acknowledged and told to the subscribers.
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { MatrixError } from "../../core/errors.ts";
import { roomIdFromCreateEvent } from "../../core/events/room-id.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { Pdu, RoomEvent, StateMap } from "../../core/events/room-event.ts";
import { hasPolicySignature, needsPolicySignature } from "../../core/events/policy-server.ts";
import type { PolicyServer } from "../../core/events/policy-server.ts";
import { isJsonObject } from "../../core/json.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Database } from "../../storage/database.ts";
import { BackfillPositions } from "../../storage/stores/backfill-positions.ts";
import { EventStore } from "../../storage/stores/events.ts";
import { NidCaches } from "../../storage/stores/nid-cache.ts";
import { loadKnownEvents, snapshotOf } from "./batch.ts";
import type { EngineDeps, RoomserverLogger } from "./batch.ts";
import type { KeyRing } from "./keyring.ts";
import { EventCache } from "./known-event.ts";
import type { KnownEvent } from "./known-event.ts";
import { buildCreateEvent } from "./local-event.ts";
import type { WorkItem } from "./process-event.ts";
import { askPolicyServer, policyChecks, policyServerIn } from "./policy-server.ts";
import type { PolicyServerClient } from "./policy-server.ts";
import { RoomWorker } from "./room-worker.ts";
import type { CreateRoomRequest, InitialEvent, InputResult, LocalEventRequest, OutputListener, RoomInput, RoomserverOutput } from "./types.ts";

/** client-server-api#redactions lets the server delete redacted content; we keep it this long first. */
export const DEFAULT_REDACTION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface RoomserverOptions {
  readonly db: Database;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly keyRing: KeyRing;
  readonly logger?: RoomserverLogger;
  readonly now?: () => number;
  /** How long the original content of a redacted event is kept (default 7 days). */
  readonly redactionRetentionMs?: number;
  /** The most inputs of one room persisted in one transaction (default 512): under load, batches share one commit. */
  readonly maxBatch?: number;
  /** How many committed non-state events are kept in memory (default 20,000). */
  readonly eventCacheSize?: number;
  /** How many committed state events are kept in memory, apart from the others (default 50,000). */
  readonly stateEventCacheSize?: number;
  /**
   * How many rooms keep their worker (queue and committed state: current state, forward
   * extremities) in memory; past that, the least recently used idle ones are dropped, and loaded
   * again from storage when next needed (default 2,000).
   */
  readonly roomsInMemory?: number;
  /** Asks rooms' policy servers for their signature (server-server-api#policy-servers); without it, none can be asked. */
  readonly policyServers?: PolicyServerClient;
}

/** How many times a local event is built again when the room's policy server changed while it was being signed. */
const POLICY_SIGNING_ATTEMPTS = 3;

/** An event as the engine holds it: the served (redacted when redacted) form and the decisions on it. */
export interface RoomEventInfo {
  readonly event: RoomEvent;
  readonly outlier: boolean;
  readonly backfilled: boolean;
  readonly softFailed: boolean;
  readonly rejectedReason: string | undefined;
  readonly redactedBy: string | undefined;
  readonly streamOrdering: number | undefined;
}

export class Roomserver {
  readonly #deps: EngineDeps;
  readonly #workers = new Map<string, RoomWorker>();
  readonly #listeners = new Set<OutputListener>();
  readonly #maxBatch: number;
  readonly #roomsInMemory: number;
  readonly #retentionMs: number;
  readonly #backfillPositions: BackfillPositions;
  readonly #policyServers: PolicyServerClient | undefined;
  #closed = false;
  #lastCreateTs = 0;

  constructor(options: RoomserverOptions) {
    const nids = new NidCaches();
    this.#deps = {
      db: options.db,
      store: new EventStore(options.db, nids),
      cache: new EventCache(options.eventCacheSize ?? 20_000, options.stateEventCacheSize ?? 50_000),
      keyRing: options.keyRing,
      signer: { serverName: options.serverName, key: options.signingKey },
      now: options.now ?? Date.now,
      logger: options.logger,
    };
    this.#maxBatch = options.maxBatch ?? 512;
    this.#roomsInMemory = Math.max(1, options.roomsInMemory ?? 2_000);
    this.#retentionMs = options.redactionRetentionMs ?? DEFAULT_REDACTION_RETENTION_MS;
    this.#backfillPositions = new BackfillPositions(options.db);
    this.#policyServers = options.policyServers;
  }

  get store(): EventStore {
    return this.#deps.store;
  }

  /** Hears every output, after its transaction committed, in commit order. Returns the unsubscribe. */
  subscribe(listener: OutputListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Submits a received event. Resolves once it is stored (or refused); rejects only if storage fails. */
  input(input: RoomInput): Promise<InputResult> {
    const roomId = routeRoomId(input.pdu, input.roomVersion);
    if (typeof roomId !== "string") return Promise.resolve({ outcome: "refused", eventId: undefined, reason: roomId.reason });
    return this.#enqueue(roomId, {
      kind: input.kind,
      pdu: input.pdu,
      local: undefined,
      trusted: false,
      roomVersion: input.roomVersion,
      stateBefore: input.stateBefore,
      origin: input.origin,
    });
  }

  /**
   * Builds, signs and persists an event of ours in an existing room. Throws MatrixError
   * M_FORBIDDEN when the rules do not allow it.
   */
  async createLocalEvent(request: LocalEventRequest): Promise<{ eventId: string; streamOrdering: number | undefined }> {
    // In a room using a policy server, the event comes back built and goes to be signed: queued
    // again signed, it takes its turn after what came meanwhile, on the state then.
    let pdu: Pdu | undefined;
    for (let attempt = 1; ; attempt++) {
      const result = await this.#enqueue(request.roomId, {
        kind: "new",
        pdu,
        local: request,
        trusted: true,
        roomVersion: undefined,
        stateBefore: undefined,
        origin: undefined,
      });
      if (result.outcome !== "refused" || result.policySignatureWanted === undefined) return acceptedOrThrow(result);
      const wanted = result.policySignatureWanted;
      const version = await this.roomVersion(request.roomId);
      if (attempt === POLICY_SIGNING_ATTEMPTS || version === undefined) {
        throw new MatrixError("M_UNKNOWN", `the event could not be signed by the room's policy server: ${result.reason}`, 502);
      }
      pdu = await this.#askPolicyServer(wanted.policyServer, wanted.pdu, version);
    }
  }

  /**
   * Received events of a room using a policy server, each that lacks its valid signature asked
   * for it (server-server-api#validating-policy-server-signatures: the homeserver "SHOULD ask for
   * a new signature"), in the order given. One the policy server refuses, or that cannot be asked,
   * stays as it was: check 7 soft-fails it.
   */
  async signReceived(roomId: string, pdus: readonly Pdu[]): Promise<Pdu[]> {
    const found = await this.#policyServerOf(roomId);
    if (found === undefined) return [...pdus];
    const serverName = this.#deps.signer.serverName;
    return await Promise.all(
      pdus.map(async (pdu) => {
        if (!policyChecks(pdu["type"], pdu["state_key"], pdu["sender"], serverName, false)) return pdu;
        try {
          return await this.#policySigned(found, pdu);
        } catch (err) {
          this.#deps.logger?.debug({ err, roomId, eventId: pdu["event_id"], policyServer: found.policy.via }, "roomserver: the policy server did not sign a received event");
          return pdu;
        }
      }),
    );
  }

  /**
   * An event of ours built outside createLocalEvent (an invite, which the invitee's server signs
   * too), signed by the room's policy server when the room uses one and the event lacks its valid
   * signature. Throws as createLocalEvent does when the policy server does not sign.
   */
  async signOwn(roomId: string, pdu: Pdu): Promise<Pdu> {
    const found = await this.#policyServerOf(roomId);
    return found === undefined ? pdu : await this.#policySigned(found, pdu);
  }

  /** The policy server the room uses now, with the room's version; undefined when it uses none. */
  async #policyServerOf(roomId: string): Promise<{ policy: PolicyServer; version: RoomVersion } | undefined> {
    const room = await this.#worker(roomId).room();
    const version = room.version;
    if (version === undefined) return undefined;
    const policy = await policyServerIn(room.currentState, this.#deps.signer.serverName, (ids) => loadKnownEvents(this.#deps, ids));
    return policy === undefined ? undefined : { policy, version };
  }

  /** The event with the policy server's valid signature: as it is when it has one or needs none, else asked for it. */
  async #policySigned(found: { policy: PolicyServer; version: RoomVersion }, pdu: Pdu): Promise<Pdu> {
    const { policy, version } = found;
    if (!needsPolicySignature(pdu["type"], pdu["state_key"]) || hasPolicySignature(pdu, version, policy)) return pdu;
    return await this.#askPolicyServer(policy, pdu, version);
  }

  #askPolicyServer(policy: PolicyServer, pdu: Pdu, version: RoomVersion): Promise<Pdu> {
    const client = this.#policyServers;
    if (client === undefined) return Promise.reject(new MatrixError("M_UNKNOWN", `the room's policy server ${policy.via} cannot be asked from here`, 502));
    return askPolicyServer(client, policy, pdu, version);
  }

  /**
   * Creates a room: builds its m.room.create event and, after it, the creator's initial events in
   * order, and stores them all together or none of them: an initial event the rules refuse (or a
   * malformed one) throws as createLocalEvent would, and leaves no half-made room behind.
   */
  async createRoom(request: CreateRoomRequest, initial: readonly InitialEvent[] = []): Promise<{ roomId: string; eventId: string; streamOrdering: number | undefined }> {
    const version = getRoomVersion(request.roomVersion);
    if (version === undefined) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", `room version ${request.roomVersion} is not supported`, 400);
    for (;;) {
      const ts = request.originServerTs ?? this.#createTs();
      const pdu = buildCreateEvent({ ...request, originServerTs: ts }, version, this.#deps.signer, ts);
      const roomId = roomIdFromCreateEvent(pdu, version);
      // From v12 the room ID is the create event's reference hash (rooms/v12.md), so two identical
      // create events would be one room: each creation here takes a timestamp of its own, and one
      // that meets a stored room anyway (a clock set back) tries the next millisecond.
      if (request.originServerTs === undefined && request.roomId === undefined && (await this.#worker(roomId).room()).stored) continue;
      const local = (e: InitialEvent): WorkItem => ({
        kind: "new",
        pdu: undefined,
        local: { roomId, type: e.type, stateKey: e.stateKey, sender: request.creator, content: e.content },
        trusted: true,
        roomVersion: undefined,
        stateBefore: undefined,
        origin: undefined,
      });
      const create: WorkItem = { kind: "new", pdu, local: undefined, trusted: true, roomVersion: version.id, stateBefore: undefined, origin: undefined };
      const results = await this.#enqueueGroup(roomId, [create, ...initial.map(local)]);
      // A refused group gives each of its inputs the one refusal, which the first throws.
      const accepted = results.map(acceptedOrThrow);
      let streamOrdering: number | undefined;
      for (const { streamOrdering: position } of accepted) streamOrdering = position ?? streamOrdering;
      return { roomId, eventId: (accepted[0] as { eventId: string }).eventId, streamOrdering };
    }
  }

  /** A create event timestamp: now, but always after the last one this server used. */
  #createTs(): number {
    this.#lastCreateTs = Math.max(this.#deps.now(), this.#lastCreateTs + 1);
    return this.#lastCreateTs;
  }

  /**
   * Puts backfilled events (stored, oldest first) into the room's timeline before everything it
   * has (storage/stores/backfill-positions.ts). Not an output: they are history, not news.
   */
  async placeBackfilled(roomId: string, eventIds: readonly string[]): Promise<Map<string, number>> {
    const placed = await this.#backfillPositions.place(roomId, eventIds);
    // Cached copies still say "not in the timeline": read again from the database next time.
    for (const id of placed.keys()) this.#deps.cache.delete(id);
    return placed;
  }

  /** The state before or after an event: one state group read. Undefined for unknown events and outliers. */
  async stateAt(eventId: string, when: "before" | "after" = "after"): Promise<StateMap | undefined> {
    const known = (await loadKnownEvents(this.#deps, [eventId])).get(eventId);
    if (known === undefined) return undefined;
    const snapshot = await snapshotOf(this.#deps, when === "before" ? known.stateBefore : known.stateAfter);
    return snapshot?.toMap();
  }

  /**
   * The version of a stored room, undefined for a room not stored. From the room's worker when it
   * has one (memory), so a send costs no read for it; a room without one is read, not given a worker.
   */
  async roomVersion(roomId: string): Promise<RoomVersion | undefined> {
    const worker = this.#workers.get(roomId);
    if (worker !== undefined) {
      const room = await worker.room();
      return room.stored ? room.version : undefined;
    }
    const stored = await this.#deps.store.getRoom(roomId);
    return stored === undefined ? undefined : getRoomVersion(stored.roomVersion);
  }

  /** The room's current state: the resolution of the states at its forward extremities. */
  async currentState(roomId: string): Promise<StateMap | undefined> {
    const worker = this.#worker(roomId);
    const room = await worker.room();
    return room.stored ? room.currentState.toMap() : undefined;
  }

  /** One entry of the room's current state (no copy of the whole state, unlike currentState). */
  async currentStateEventId(roomId: string, eventType: string, stateKey: string): Promise<string | undefined> {
    const room = await this.#worker(roomId).room();
    return room.stored ? room.currentState.get(stateMapKey(eventType, stateKey)) : undefined;
  }

  async forwardExtremities(roomId: string): Promise<string[]> {
    const room = await this.#worker(roomId).room();
    return [...room.extremities.keys()];
  }

  async getEvent(eventId: string): Promise<RoomEventInfo | undefined> {
    const known = (await loadKnownEvents(this.#deps, [eventId])).get(eventId);
    return known === undefined ? undefined : info(known);
  }

  /**
   * Deletes the original content of events redacted more than the retention ago (their redacted
   * form stays). The server calls it periodically; returns how many events it purged.
   */
  async purgeRedactedContent(now: number = this.#deps.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const purged = await this.#deps.store.purgeRedactedContent(now - this.#retentionMs);
      total += purged;
      if (purged < 500) return total;
    }
  }

  /** Settles once every queue is empty. */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.#workers.values()].filter((w) => w.busy);
      if (busy.length === 0) return;
      await Promise.all(busy.map((w) => w.idle));
    }
  }

  /**
   * Settles once every batch being processed at the call has ended (later batches are not waited
   * for): a room stream position taken before the call is then committed or given up for good.
   */
  async batchesInFlight(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((w) => w.batchInFlight));
  }

  /** Refuses new inputs and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  /** How many rooms have a worker in memory now. */
  get roomsInMemory(): number {
    return this.#workers.size;
  }

  // The room's worker, most recently used last in #workers. A new one may push out the least
  // recently used idle workers: an idle worker holds nothing but what storage has (nobody keeps a
  // worker to enqueue into later: #enqueue looks it up each time), so a room never has two at once
  // that could both write.
  #worker(roomId: string): RoomWorker {
    let worker = this.#workers.get(roomId);
    if (worker === undefined) worker = new RoomWorker(roomId, this.#deps, this.#maxBatch, (outputs) => this.#emit(outputs));
    else this.#workers.delete(roomId);
    this.#workers.set(roomId, worker);
    // Over the bound (busy workers are kept, so it can stay over for a while): drop idle ones, oldest first.
    if (this.#workers.size > this.#roomsInMemory) {
      for (const [id, old] of this.#workers) {
        if (this.#workers.size <= this.#roomsInMemory || old === worker) break;
        if (!old.busy) this.#workers.delete(id);
      }
    }
    return worker;
  }

  #enqueue(roomId: string, item: WorkItem): Promise<InputResult> {
    if (this.#closed) return Promise.reject(new Error("the roomserver is closed"));
    return new Promise<InputResult>((resolve, reject) => {
      this.#worker(roomId).enqueue({ item, resolve, reject });
    });
  }

  /** Queues inputs as one group (RoomWorker): one batch, stored all together or not at all. */
  #enqueueGroup(roomId: string, items: readonly WorkItem[]): Promise<InputResult[]> {
    if (this.#closed) return Promise.reject(new Error("the roomserver is closed"));
    const worker = this.#worker(roomId);
    const group = {};
    // Queued in one synchronous run, so that nothing comes between them.
    return Promise.all(items.map((item) => new Promise<InputResult>((resolve, reject) => worker.enqueue({ item, group, resolve, reject }))));
  }

  #emit(outputs: readonly RoomserverOutput[]): void {
    for (const output of outputs) {
      for (const listener of this.#listeners) {
        try {
          listener(output);
        } catch (err) {
          this.#deps.logger?.error({ err, kind: output.kind }, "roomserver: an output listener threw");
        }
      }
    }
  }
}

function info(known: KnownEvent): RoomEventInfo {
  return {
    event: known.event,
    outlier: known.outlier,
    backfilled: known.backfilled,
    softFailed: known.softFailed,
    rejectedReason: known.rejectedReason,
    redactedBy: known.redactedBy,
    streamOrdering: known.streamOrdering,
  };
}

function acceptedOrThrow(result: InputResult): { eventId: string; streamOrdering: number | undefined } {
  if (result.outcome === "accepted") return { eventId: result.eventId, streamOrdering: result.streamOrdering };
  // A malformed event built from a client's request is the request's fault (M_TOO_LARGE, M_BAD_JSON,
  // as EventFormatError says); anything else is a refusal by the room (room_send.yaml's 403).
  const format = result.outcome === "refused" ? result.formatError : undefined;
  if (format !== undefined) throw new MatrixError(format.errcode, `the event was refused: ${result.reason}`, format.status);
  throw new MatrixError("M_FORBIDDEN", `the event was ${result.outcome.replace("_", " ")}: ${result.reason}`, 403);
}

/** The room an input belongs to: its room_id, or for a v12 create event the ID derived from it. */
function routeRoomId(pdu: Pdu, roomVersion: string | undefined): string | { reason: string } {
  if (!isJsonObject(pdu)) return { reason: "a PDU must be a JSON object" };
  const roomId = pdu["room_id"];
  if (typeof roomId === "string") return roomId;
  if (pdu["type"] !== "m.room.create") return { reason: "the event has no room_id" };
  const content = pdu["content"];
  const versionId = roomVersion ?? (isJsonObject(content) ? content["room_version"] : undefined);
  const version = typeof versionId === "string" ? getRoomVersion(versionId) : undefined;
  if (version === undefined || !version.roomIdFromCreateEvent) return { reason: "the create event has no room_id" };
  try {
    return roomIdFromCreateEvent(pdu, version);
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}
