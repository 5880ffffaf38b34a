// The membership index: the current membership of every user (local and remote) in every room,
// and the log of its changes by room-stream position. Sync, federation sending, presence and the
// room endpoints read it instead of loading room state.
//
// It is kept by a consumer of the roomserver's outputs: the m.room.member keys of each
// new_room_event's stateDelta. A write records, in the same transaction, the position applied for
// its room; a room's outputs come in position order, so a replay at or below it is skipped.
// Each row keeps its member event's display name and avatar, and the same transaction marks the
// user directory rows of the users it changed stale (storage/stores/user-directory.ts), so the
// directory follows the index, catch-up included.
//
// Catch-up: at start, the room stream after the checkpoint is scanned and every room with entries
// past its applied position is reconciled with its current state (the truth the index mirrors).
// So a crash between an event's commit and the index's write loses nothing, and replays are
// harmless. The checkpoint only moves to positions that no transaction still in flight can fall
// below: at start (after the catch-up), at close, and while running to a position taken one
// interval earlier (on PostgreSQL, rooms commit side by side and positions may commit out of order).
import { stateMapKey } from "../../core/events/room-event.ts";
import type { StateMap } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import { isJsonObject } from "../../core/json.ts";
import type { MembershipRow, MembershipStore, MembershipWrite } from "../../storage/stores/memberships.ts";
import type { OutputListener, RoomserverOutput } from "../roomserver/index.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** client-server-api#mroommember: the values of `membership`. */
export type Membership = "join" | "invite" | "leave" | "ban" | "knock";

export const MEMBERSHIPS: readonly Membership[] = ["join", "invite", "leave", "ban", "knock"];

export function isMembership(value: unknown): value is Membership {
  return typeof value === "string" && (MEMBERSHIPS as readonly string[]).includes(value);
}

export interface MembershipEntry {
  readonly roomId: string;
  readonly membership: Membership;
  readonly eventId: string;
  /** Where the membership became current in the room stream. */
  readonly streamOrdering: number;
  /** The user forgot the room (POST /forget) since this membership: /sync leaves it out. Always false in membershipChangesSince. */
  readonly forgotten: boolean;
}

/** What the index reads from the room engine (the Roomserver and its EventStore provide it). */
export interface MembershipIndexSource {
  subscribe(listener: OutputListener): () => void;
  currentState(roomId: string): Promise<StateMap | undefined>;
  getEvents(eventIds: readonly string[]): Promise<ReadonlyMap<string, { readonly pdu: JsonObject; readonly streamOrdering: number | null }>>;
  streamSince(
    position: number,
    limit: number,
  ): Promise<ReadonlyArray<{ readonly streamOrdering: number; readonly roomId: string; readonly eventId?: string; readonly type?: string }>>;
}

export interface MembershipIndexOptions {
  /** How often the checkpoint moves while running (default 60 s; 0: only at start and close). */
  readonly checkpointIntervalMs?: number;
  readonly onError?: (error: unknown, what: string) => void;
  /** How many rooms' joined members are cached (default 10000). */
  readonly cacheSize?: number;
  /** Called after a write of membership changes has committed, catch-up included (the user directory then rewrites the users it marked stale). */
  readonly onChanged?: () => void;
}

const MEMBER_PREFIX = "m.room.member\u0000";
const CREATE_KEY = stateMapKey("m.room.create", "");
const SCAN_PAGE = 1000;
const MAX_BATCH = 256;

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
}

export class MembershipIndex {
  readonly #store: MembershipStore;
  readonly #source: MembershipIndexSource;
  readonly #onError: (error: unknown, what: string) => void;
  readonly #onChanged: (() => void) | undefined;
  readonly #checkpointIntervalMs: number;
  readonly #cacheSize: number;

  /** Outputs received and not applied yet, in arrival order. */
  #queue: NewRoomEvent[] = [];
  /** The batch being applied. */
  #inFlight: readonly NewRoomEvent[] = [];
  #maxReceived = 0;
  #waiters: Waiter[] = [];
  #started = false;
  #caughtUp = false;
  #draining: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checkpointCandidate: number | undefined;
  /** The checkpoint as stored: it only moves forward. */
  #checkpoint = 0;
  /** Below the first output whose write failed: the checkpoint stays under it, so the next start reconciles its room. */
  #failedFloor = Number.POSITIVE_INFINITY;
  #closed = false;

  /** The position applied per room (loaded lazily; positions only grow). */
  readonly #roomPositions = new Map<string, number>();
  /** Bumped after each committed change of a room, so a read that overlapped it is not cached. */
  readonly #generation = new Map<string, number>();
  readonly #joinedCache = new Map<string, string[]>();

  constructor(store: MembershipStore, source: MembershipIndexSource, options: MembershipIndexOptions = {}) {
    this.#store = store;
    this.#source = source;
    this.#onError = options.onError ?? (() => undefined);
    this.#checkpointIntervalMs = options.checkpointIntervalMs ?? 60_000;
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#onChanged = options.onChanged;
  }

  /** Subscribes to the roomserver and catches up with the stream; resolves once caught up. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("the membership index is started already");
    this.#started = true;
    // Subscribed before the scan: what commits meanwhile is queued, and replays are skipped.
    this.#unsubscribe = this.#source.subscribe((output) => this.#receive(output));
    await this.#catchUp();
    this.#caughtUp = true;
    this.#checkWaiters();
    this.#drain();
    if (this.#checkpointIntervalMs > 0) {
      this.#timer = setInterval(() => this.#tickCheckpoint(), this.#checkpointIntervalMs);
      this.#timer.unref();
    }
  }

  /** Applies what is queued, records the checkpoint, and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#unsubscribe?.();
    if (!this.#caughtUp) return;
    while (this.#draining !== undefined) await this.#draining;
    await this.#saveCheckpoint(this.#appliedFloor());
  }

  /** Resolves once the index has applied the room stream up to `streamOrdering`: readers call it before reading. */
  waitUntil(streamOrdering: number): Promise<void> {
    if (this.#reached(streamOrdering)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ position: streamOrdering, resolve }));
  }

  /** The highest position received (and, once nothing is queued, applied). */
  get position(): number {
    return this.#maxReceived;
  }

  /** The user's rooms with their current membership (all memberships unless some are given). */
  async roomsForUser(userId: string, memberships?: readonly Membership[]): Promise<MembershipEntry[]> {
    return (await this.#store.roomsForUser(userId, memberships)).flatMap(entryOf);
  }

  /** The user's membership changes with sinceStreamOrdering < position <= toStreamOrdering, oldest first (every change, not only the last per room). */
  async membershipChangesSince(userId: string, sinceStreamOrdering: number, toStreamOrdering: number): Promise<MembershipEntry[]> {
    if (toStreamOrdering <= sinceStreamOrdering) return [];
    return (await this.#store.changesSince(userId, sinceStreamOrdering, toStreamOrdering)).flatMap(entryOf);
  }

  /** The users whose membership of the room is join, sorted. */
  async joinedMembers(roomId: string): Promise<string[]> {
    const cached = this.#joinedCache.get(roomId);
    if (cached !== undefined) {
      // Least recently used last out: re-inserted at the end.
      this.#joinedCache.delete(roomId);
      this.#joinedCache.set(roomId, cached);
      return [...cached];
    }
    const generation = this.#generation.get(roomId) ?? 0;
    const members = (await this.#store.members(roomId, "join")).map((r) => r.userId);
    if ((this.#generation.get(roomId) ?? 0) === generation) {
      rememberRecent(this.#joinedCache, roomId, members, this.#cacheSize);
    }
    return [...members];
  }

  /** Every member row of the room, any membership (for /members and the room summary). */
  async members(roomId: string): Promise<Array<{ userId: string; membership: Membership; eventId: string; streamOrdering: number }>> {
    return (await this.#store.members(roomId)).flatMap((r) =>
      isMembership(r.membership) ? [{ userId: r.userId, membership: r.membership, eventId: r.eventId, streamOrdering: r.streamOrdering }] : [],
    );
  }

  async membershipOf(userId: string, roomId: string): Promise<Membership | undefined> {
    const row = await this.#store.membershipOf(userId, roomId);
    return row !== undefined && isMembership(row.membership) ? row.membership : undefined;
  }

  /** Whether the user forgot the room since their last membership change (POST /forget). */
  async isForgotten(userId: string, roomId: string): Promise<boolean> {
    return (await this.#store.membershipOf(userId, roomId))?.forgotten ?? false;
  }

  /** Marks the room forgotten; false when the user is joined to it or has no membership there. */
  async forget(userId: string, roomId: string): Promise<boolean> {
    return await this.#store.forget(userId, roomId);
  }

  /** The position of the user's latest join of the room (history visibility "shared" asks it). */
  async lastJoinedAt(userId: string, roomId: string): Promise<number | undefined> {
    return await this.#store.lastJoinPosition(userId, roomId);
  }

  /** The servers with a joined member in the room, sorted. */
  async serversInRoom(roomId: string): Promise<string[]> {
    const servers = new Set<string>();
    for (const userId of await this.joinedMembers(roomId)) {
      const server = serverNameOf(userId);
      if (server !== undefined) servers.add(server);
    }
    return [...servers].sort();
  }

  /** The users joined to a room the user is joined to, the user among them when joined anywhere. */
  async usersSharingRoomWith(userId: string): Promise<Set<string>> {
    return await this.#store.usersSharingRoomWith(userId);
  }

  // --- Applying outputs ---

  #receive(output: RoomserverOutput): void {
    if (output.kind !== "new_room_event" || this.#closed) return;
    this.#queue.push(output);
    if (output.streamOrdering > this.#maxReceived) this.#maxReceived = output.streamOrdering;
    if (this.#caughtUp) this.#drain();
  }

  #drain(): void {
    if (this.#draining !== undefined || this.#queue.length === 0) return;
    this.#draining = this.#applyQueue().finally(() => {
      this.#draining = undefined;
      this.#checkWaiters();
      this.#drain();
    });
  }

  async #applyQueue(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight = batch;
      try {
        await this.#applyOutputs(batch);
      } catch (err) {
        // Not lost: the checkpoint stays below them, and the catch-up at the next start reconciles these rooms.
        for (const o of batch) this.#failedFloor = Math.min(this.#failedFloor, o.streamOrdering - 1);
        this.#onError(err, "applying membership changes");
      }
      this.#inFlight = [];
      this.#checkWaiters();
    }
  }

  async #applyOutputs(outputs: readonly NewRoomEvent[]): Promise<void> {
    const relevant = outputs.filter((o) => outOfBandMember(o) !== undefined || [...o.stateDelta.keys()].some((k) => k.startsWith(MEMBER_PREFIX)));
    if (relevant.length === 0) return;
    const positions = await this.#positionsOf(relevant.map((o) => o.roomId));
    const fresh = relevant.filter((o) => o.streamOrdering > (positions.get(o.roomId) ?? 0));
    if (fresh.length === 0) return;

    // The member events other than the outputs' own (state resolution may bring back older ones).
    const own = new Map(fresh.map((o) => [o.event.eventId, o.event.content]));
    const others = new Set<string>();
    for (const o of fresh) {
      for (const [key, eventId] of o.stateDelta) {
        if (key.startsWith(MEMBER_PREFIX) && eventId !== null && !own.has(eventId)) others.add(eventId);
      }
    }
    const loaded = others.size > 0 ? await this.#source.getEvents([...others]) : new Map<string, { pdu: JsonObject }>();
    const contentOf = (eventId: string): JsonObject | undefined => {
      const content = own.get(eventId) ?? loaded.get(eventId)?.pdu["content"];
      return isJsonObject(content) ? content : undefined;
    };

    const writes: MembershipWrite[] = [];
    const roomPositions = new Map<string, number>();
    for (const o of fresh) {
      // An out-of-band membership (a room we are not in): the member's, outside the room's state.
      const outOfBand = outOfBandMember(o);
      if (outOfBand !== undefined) {
        const write = memberWrite(o.roomId, outOfBand, o.event.eventId, o.event.content, o.streamOrdering);
        if (write !== undefined) writes.push(write);
      }
      for (const [key, eventId] of o.stateDelta) {
        if (!key.startsWith(MEMBER_PREFIX)) continue;
        const userId = key.slice(MEMBER_PREFIX.length);
        if (eventId === null) {
          writes.push({ removed: true, roomId: o.roomId, userId });
          continue;
        }
        const content = contentOf(eventId);
        // Not expected (the event is stored with the state that names it); logged, and the room's
        // next catch-up would reconcile it.
        if (content === undefined) this.#onError(new Error(`member event ${eventId} could not be loaded`), "applying membership changes");
        const write = memberWrite(o.roomId, userId, eventId, content, o.streamOrdering);
        if (write !== undefined) writes.push(write);
      }
      roomPositions.set(o.roomId, o.streamOrdering);
    }
    await this.#commit(writes, roomPositions);
  }

  async #commit(writes: MembershipWrite[], roomPositions: Map<string, number>): Promise<void> {
    await this.#store.apply({ writes, roomPositions });
    for (const [roomId, position] of roomPositions) {
      if (position > (this.#roomPositions.get(roomId) ?? 0)) this.#roomPositions.set(roomId, position);
      this.#generation.set(roomId, (this.#generation.get(roomId) ?? 0) + 1);
      this.#joinedCache.delete(roomId);
    }
    if (writes.length > 0) this.#onChanged?.();
  }

  async #positionsOf(roomIds: readonly string[]): Promise<Map<string, number>> {
    const missing = [...new Set(roomIds)].filter((id) => !this.#roomPositions.has(id));
    if (missing.length > 0) {
      const stored = await this.#store.roomPositions(missing);
      for (const id of missing) this.#roomPositions.set(id, Math.max(this.#roomPositions.get(id) ?? 0, stored.get(id) ?? 0));
    }
    return this.#roomPositions;
  }

  // --- Catch-up ---

  async #catchUp(): Promise<void> {
    let position = await this.#store.checkpoint();
    this.#checkpoint = position;
    if (position > this.#maxReceived) this.#maxReceived = position;
    const lastSeen = new Map<string, number>();
    const memberEvents = new Map<string, Array<{ eventId: string; streamOrdering: number }>>();
    for (;;) {
      const page = await this.#source.streamSince(position, SCAN_PAGE);
      for (const entry of page) {
        lastSeen.set(entry.roomId, entry.streamOrdering);
        position = entry.streamOrdering;
        if (entry.type === "m.room.member" && entry.eventId !== undefined) {
          memberEvents.set(entry.roomId, [...(memberEvents.get(entry.roomId) ?? []), { eventId: entry.eventId, streamOrdering: entry.streamOrdering }]);
        }
      }
      if (page.length < SCAN_PAGE) break;
    }
    const positions = await this.#positionsOf([...lastSeen.keys()]);
    const behind = [...lastSeen].filter(([roomId, last]) => last > (positions.get(roomId) ?? 0));
    for (const [roomId, last] of behind) {
      const applied = positions.get(roomId) ?? 0;
      await this.#reconcile(roomId, last, (memberEvents.get(roomId) ?? []).filter((e) => e.streamOrdering > applied));
    }
    if (position > this.#maxReceived) this.#maxReceived = position;
    await this.#saveCheckpoint(position);
  }

  /**
   * Makes the room's rows match its current state, and marks it applied up to `position`. A room
   * without state here (only out-of-band memberships of it) takes its member events in the stream.
   */
  async #reconcile(roomId: string, position: number, memberEvents: ReadonlyArray<{ eventId: string; streamOrdering: number }>): Promise<void> {
    const state = (await this.#source.currentState(roomId)) ?? new Map<string, string>();
    if (!state.has(CREATE_KEY)) {
      const events = await this.#source.getEvents(memberEvents.map((e) => e.eventId));
      const writes: MembershipWrite[] = [];
      for (const { eventId, streamOrdering } of memberEvents) {
        const pdu = events.get(eventId)?.pdu;
        const content = pdu?.["content"];
        const write = typeof pdu?.["state_key"] === "string" ? memberWrite(roomId, pdu["state_key"], eventId, isJsonObject(content) ? content : undefined, streamOrdering) : undefined;
        if (write !== undefined) writes.push(write);
      }
      await this.#commit(writes, new Map([[roomId, position]]));
      return;
    }
    const inState = new Map<string, string>();
    for (const [key, eventId] of state) if (key.startsWith(MEMBER_PREFIX)) inState.set(key.slice(MEMBER_PREFIX.length), eventId);
    const rows = new Map((await this.#store.members(roomId)).map((r) => [r.userId, r.eventId]));
    const changed = [...inState].filter(([userId, eventId]) => rows.get(userId) !== eventId);
    const events = await this.#source.getEvents(changed.map(([, eventId]) => eventId));
    const writes: MembershipWrite[] = [];
    for (const [userId, eventId] of changed) {
      const event = events.get(eventId);
      const content = event?.pdu["content"];
      const write = memberWrite(roomId, userId, eventId, isJsonObject(content) ? content : undefined, event?.streamOrdering ?? position);
      if (write !== undefined) writes.push(write);
    }
    for (const userId of rows.keys()) if (!inState.has(userId)) writes.push({ removed: true, roomId, userId });
    await this.#commit(writes, new Map([[roomId, position]]));
  }

  // --- Waiting and the checkpoint ---

  #reached(position: number): boolean {
    if (!this.#caughtUp || position > this.#maxReceived) return false;
    return !this.#queue.some((o) => o.streamOrdering <= position) && !this.#inFlight.some((o) => o.streamOrdering <= position);
  }

  #checkWaiters(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (this.#reached(waiter.position)) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }

  /** The highest position with nothing at or below it waiting to be applied. */
  #appliedFloor(): number {
    let floor = Math.min(this.#maxReceived, this.#failedFloor);
    for (const o of [...this.#inFlight, ...this.#queue]) floor = Math.min(floor, o.streamOrdering - 1);
    return floor;
  }

  #tickCheckpoint(): void {
    // The candidate taken one interval ago: any transaction below it has committed and been emitted since.
    const candidate = this.#checkpointCandidate;
    this.#checkpointCandidate = this.#appliedFloor();
    if (candidate === undefined) return;
    void this.#saveCheckpoint(Math.min(candidate, this.#appliedFloor()));
  }

  async #saveCheckpoint(position: number): Promise<void> {
    if (position <= this.#checkpoint) return;
    this.#checkpoint = position;
    await this.#store.setCheckpoint(position).catch((err: unknown) => this.#onError(err, "membership index checkpoint"));
  }
}

/** The member of an out-of-band membership output (an invite to, or its rejection of, a room we are not in). */
function outOfBandMember(output: NewRoomEvent): string | undefined {
  const { event } = output;
  return output.outOfBand === true && event.type === "m.room.member" ? event.stateKey : undefined;
}

function entryOf(row: MembershipRow): MembershipEntry[] {
  if (!isMembership(row.membership)) return [];
  return [{ roomId: row.roomId, membership: row.membership, eventId: row.eventId, streamOrdering: row.streamOrdering, forgotten: row.forgotten }];
}

function memberWrite(roomId: string, userId: string, eventId: string, content: JsonObject | undefined, streamOrdering: number): MembershipWrite | undefined {
  const membership = content?.["membership"];
  // The auth rules refuse any other value; an event we could not load is left for the next catch-up.
  if (!isMembership(membership)) return undefined;
  // The member event's profile, which the user directory shows (client-server-api#mroommember: displayname, avatar_url).
  const displayName = content?.["displayname"];
  const avatarUrl = content?.["avatar_url"];
  return {
    roomId,
    userId,
    serverName: serverNameOf(userId) ?? "",
    membership,
    eventId,
    streamOrdering,
    displayName: typeof displayName === "string" ? displayName : null,
    avatarUrl: typeof avatarUrl === "string" ? avatarUrl : null,
  };
}

/** The state key of a member event, for callers building stateMapKey lookups. */
export function memberKey(userId: string): string {
  return stateMapKey("m.room.member", userId);
}
