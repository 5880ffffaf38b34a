// Event graphs for the state resolution tests and benchmark: a room builder that makes real,
// hashed and signed events whose auth_events follow server-server-api "Auth events selection",
// forks of its state, an in-memory StateResolutionSource, and a synthetic large forked room.
import assert from "node:assert/strict";
import { authEventsSelection, checkEventAuth } from "../../../src/core/auth/index.ts";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import { computeReferenceHash } from "../../../src/core/events/hashes.ts";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { Pdu, RoomEvent, StateMap } from "../../../src/core/events/room-event.ts";
import { createEventIdOfRoom } from "../../../src/core/events/room-id.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { resolveState } from "../../../src/core/state-res/index.ts";
import type { StateResolutionSource } from "../../../src/core/state-res/index.ts";

export const SERVER = "example.org";
const KEY = signingKeyFromSeed(new Uint8Array(32).fill(7), "test");

export const user = (name: string): string => `@${name}:${SERVER}`;

export interface EventSpec {
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
  /** origin_server_ts; by default the room's clock, which ticks by 1000 per event. */
  readonly ts?: number;
  /** Explicit auth_events, instead of the selection from the fork's state. */
  readonly authEvents?: readonly string[];
  /** Select the auth events from this state instead of the fork's (an event citing another fork). */
  readonly authState?: StateMap;
  /** Extra prev_events besides the fork's head (to merge forks). */
  readonly extraPrevEvents?: readonly string[];
  /** Add the event even if the authorization rules reject it against its auth events. */
  readonly unchecked?: boolean;
}

/** One line of history: the state after its head, its head and depth. */
export class Fork {
  state: StateMap;
  head: string[];
  depth: number;

  constructor(state: StateMap = new Map(), head: string[] = [], depth = 0) {
    this.state = state;
    this.head = head;
    this.depth = depth;
  }

  clone(): Fork {
    return new Fork(new Map(this.state), [...this.head], this.depth);
  }

  get(type: string, stateKey = ""): string | undefined {
    return this.state.get(stateMapKey(type, stateKey));
  }
}

export interface RoomOptions {
  /** Hash and sign every event (default). Unsigned events are built faster, with made-up IDs. */
  readonly signed?: boolean;
  readonly clockStart?: number;
}

/** A room whose events are all kept, and which builds new ones on a Fork. */
export class TestRoom {
  readonly version: RoomVersion;
  readonly events = new Map<string, RoomEvent>();
  readonly signed: boolean;
  roomId = "";
  clock: number;
  #counter = 0;

  constructor(version: RoomVersion, options: RoomOptions = {}) {
    this.version = version;
    this.signed = options.signed ?? true;
    this.clock = options.clockStart ?? 1_700_000_000_000;
  }

  get(eventId: string): RoomEvent {
    const event = this.events.get(eventId);
    if (event === undefined) throw new Error(`no event ${eventId}`);
    return event;
  }

  /**
   * A new event on `fork`: prev_events the fork's head, auth_events selected from its state, depth
   * one more. Throws if the rules reject it against its auth events, unless `unchecked`. A state
   * event that passes updates the fork's state.
   */
  send(fork: Fork, spec: EventSpec): RoomEvent {
    const ts = spec.ts ?? (this.clock += 1000);
    const isCreate = spec.type === "m.room.create";
    const authIds: string[] =
      spec.authEvents !== undefined ? [...spec.authEvents] :
      authEventsSelection(
        { type: spec.type, stateKey: spec.stateKey, sender: spec.sender, content: spec.content },
        this.version,
      )
        .map(([type, stateKey]) => (spec.authState ?? fork.state).get(stateMapKey(type, stateKey)))
        .filter((id): id is string => id !== undefined);
    const prevIds = [...fork.head, ...(spec.extraPrevEvents ?? [])];
    const depth = fork.depth + 1;
    const event = this.#build(spec, ts, authIds, prevIds, depth, isCreate);
    if (isCreate) this.roomId = event.roomId;
    if (spec.unchecked !== true) {
      const authEvents = authIds.map((id) => this.get(id));
      const createId = this.version.roomIdFromCreateEvent && !isCreate ? createEventIdOfRoom(event.roomId) : undefined;
      const lookup = (type: string, stateKey: string): RoomEvent | undefined => {
        if (type === "m.room.create" && createId !== undefined) return this.events.get(createId);
        return authEvents.find((e) => e.type === type && e.stateKey === stateKey);
      };
      const result = checkEventAuth(event, lookup);
      if (!result.allowed) throw new Error(`fixture event ${spec.type} by ${spec.sender} rejected: ${result.reason}`);
    }
    this.events.set(event.eventId, event);
    fork.head = [event.eventId];
    fork.depth = depth;
    if (spec.stateKey !== undefined) fork.state.set(stateMapKey(spec.type, spec.stateKey), event.eventId);
    return event;
  }

  /** Like send, but returns undefined instead of throwing when the rules reject the event. */
  trySend(fork: Fork, spec: EventSpec): RoomEvent | undefined {
    try {
      return this.send(fork, spec);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("fixture event")) return undefined;
      throw err;
    }
  }

  #build(spec: EventSpec, ts: number, authIds: string[], prevIds: string[], depth: number, isCreate: boolean): RoomEvent {
    const n = ++this.#counter;
    const v1Ids = this.version.eventIdFormat === "v1";
    const ref = (id: string): JsonValue =>
      v1Ids ? [id, { sha256: encodeUnpaddedBase64(computeReferenceHash(this.get(id).pdu, this.version)) }] : id;
    const pdu: Pdu = {
      type: spec.type,
      sender: spec.sender,
      content: spec.content,
      origin_server_ts: ts,
      depth,
      prev_events: prevIds.map(ref),
      auth_events: authIds.map(ref),
    };
    if (spec.stateKey !== undefined) pdu["state_key"] = spec.stateKey;
    if (v1Ids) pdu["event_id"] = `$e${n}:${SERVER}`;
    if (!(isCreate && this.version.roomIdFromCreateEvent)) {
      pdu["room_id"] = isCreate ? `!room:${SERVER}` : this.roomId;
    }
    if (this.signed) return toRoomEvent(hashAndSignEvent(pdu, this.version, SERVER, KEY), this.version);
    // Unsigned: the same view with made-up IDs (v12: the room ID still names the create event).
    const eventId = v1Ids ? `$e${n}:${SERVER}` : `$ev${n.toString(36).padStart(6, "0")}`;
    const roomId = isCreate ? (this.version.roomIdFromCreateEvent ? `!${eventId.slice(1)}` : `!room:${SERVER}`) : this.roomId;
    return {
      eventId,
      roomId,
      type: spec.type,
      stateKey: spec.stateKey,
      sender: spec.sender,
      content: spec.content,
      originServerTs: ts,
      depth,
      prevEventIds: prevIds,
      authEventIds: authIds,
      redacts: undefined,
      roomVersion: this.version,
      pdu,
    };
  }

  // Shorthands for the usual state events.

  member(fork: Fork, sender: string, target: string, membership: string, extra: JsonObject = {}, ts?: number): RoomEvent {
    return this.send(fork, { type: "m.room.member", stateKey: target, sender, content: { membership, ...extra }, ts });
  }

  join(fork: Fork, who: string, ts?: number): RoomEvent {
    return this.member(fork, who, who, "join", {}, ts);
  }

  powerLevels(fork: Fork, sender: string, users: Record<string, number>, extra: JsonObject = {}, ts?: number): RoomEvent {
    return this.send(fork, { type: "m.room.power_levels", stateKey: "", sender, content: { users, ...extra }, ts });
  }

  joinRules(fork: Fork, sender: string, rule: string, ts?: number): RoomEvent {
    return this.send(fork, { type: "m.room.join_rules", stateKey: "", sender, content: { join_rule: rule }, ts });
  }

  topic(fork: Fork, sender: string, topic: string, ts?: number): RoomEvent {
    return this.send(fork, { type: "m.room.topic", stateKey: "", sender, content: { topic }, ts });
  }
}

export interface CreatedRoom {
  readonly room: TestRoom;
  /** The fork after create, the creator's join, power levels and public join rules. */
  readonly fork: Fork;
  readonly creator: string;
}

/**
 * A room made by `creator`: create, the creator's join, power levels (the creator at 100 before
 * v12, where creators stand above the power levels and may not be listed; `users` added), join
 * rules public.
 */
export function createRoom(
  version: RoomVersion,
  options: RoomOptions & { creator?: string; users?: Record<string, number> } = {},
): CreatedRoom {
  const room = new TestRoom(version, options);
  const creator = options.creator ?? user("alice");
  const fork = new Fork();
  const content: JsonObject = { room_version: version.id };
  if (version.creatorInContent) content["creator"] = creator;
  room.send(fork, { type: "m.room.create", stateKey: "", sender: creator, content });
  room.join(fork, creator);
  const users: Record<string, number> = version.privilegedCreators ? {} : { [creator]: 100 };
  Object.assign(users, options.users ?? {});
  room.powerLevels(fork, creator, users);
  room.joinRules(fork, creator, "public");
  return { room, fork, creator };
}

/** A small deterministic pseudo-random generator (mulberry32), for shuffles with a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface MemorySourceOptions {
  /** Answer each batch in an order shuffled with this seed, after a random number of ticks. */
  readonly shuffleSeed?: number;
  /** Events the source pretends not to have. */
  readonly missing?: ReadonlySet<string>;
  /** Offer authChain, walking the events in memory as a storage index would answer. */
  readonly withAuthChain?: boolean;
  /** Offer rejectedEvents, with these events rejected. */
  readonly rejected?: ReadonlySet<string>;
}

export interface CountingSource extends StateResolutionSource {
  /** How many fetchEvents calls were made, and how many IDs they asked for. */
  readonly stats: { calls: number; ids: number };
}

/** A StateResolutionSource over events held in memory. */
export function memorySource(events: ReadonlyMap<string, RoomEvent>, options: MemorySourceOptions = {}): CountingSource {
  const random = options.shuffleSeed === undefined ? undefined : prng(options.shuffleSeed);
  const missing = options.missing ?? new Set<string>();
  const has = (id: string): RoomEvent | undefined => (missing.has(id) ? undefined : events.get(id));
  const stats = { calls: 0, ids: 0 };
  const source: CountingSource = {
    stats,
    async fetchEvents(eventIds) {
      stats.calls++;
      stats.ids += eventIds.length;
      const ids = random === undefined ? eventIds : shuffled(eventIds, random);
      const answer = new Map<string, RoomEvent>();
      for (const id of ids) {
        const event = has(id);
        if (event !== undefined) answer.set(id, event);
      }
      if (random !== undefined) {
        const ticks = Math.floor(random() * 3);
        for (let i = 0; i < ticks; i++) await new Promise((resolve) => setImmediate(resolve));
      }
      return answer;
    },
  };
  if (options.withAuthChain === true) {
    source.authChain = async (eventIds) => {
      const chain = new Set<string>();
      const stack: string[] = [];
      for (const id of eventIds) for (const a of has(id)?.authEventIds ?? []) stack.push(a);
      while (stack.length > 0) {
        const id = stack.pop() as string;
        if (chain.has(id)) continue;
        chain.add(id);
        const event = has(id);
        if (event === undefined) continue;
        for (const a of event.authEventIds) stack.push(a);
        if (event.roomVersion.roomIdFromCreateEvent && event.type !== "m.room.create") stack.push(createEventIdOfRoom(event.roomId));
      }
      for (const id of eventIds) {
        const event = has(id);
        if (event?.roomVersion.roomIdFromCreateEvent === true && event.type !== "m.room.create") {
          chain.add(createEventIdOfRoom(event.roomId));
        }
      }
      return chain;
    };
  }
  if (options.rejected !== undefined) {
    const rejected = options.rejected;
    source.rejectedEvents = async (eventIds) => new Set(eventIds.filter((id) => rejected.has(id)));
  }
  return source;
}

/** A state map with its entries in a shuffled order. */
export function shuffledState(state: StateMap, random: () => number): StateMap {
  return new Map(shuffled([...state], random));
}

/** A state map as a sorted list of entries, for comparisons that ignore Map order. */
export function entries(state: StateMap): Array<[string, string]> {
  return [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Resolves the state sets in their order and reversed, checks that both give the same state, and
 * returns it. The reversed run's source takes `backward` on top of `options` (another shuffle seed).
 */
export async function resolveBothOrders(
  room: TestRoom,
  sets: StateMap[],
  options: MemorySourceOptions = {},
  backward: MemorySourceOptions = {},
): Promise<StateMap> {
  const forward = await resolveState(sets, room.version, memorySource(room.events, options));
  const reversed = await resolveState([...sets].reverse(), room.version, memorySource(room.events, { ...options, ...backward }));
  assert.deepEqual(entries(reversed), entries(forward));
  return forward;
}

/** The users content of a power levels event, with the creator listed where the version allows. */
export function levels(version: RoomVersion, creator: string, users: Record<string, number>): Record<string, number> {
  return version.privilegedCreators ? users : { [creator]: 100, ...users };
}

export interface ForkedRoom {
  readonly room: TestRoom;
  readonly version: RoomVersion;
  /** The state after each fork's head. */
  readonly stateSets: [StateMap, StateMap];
  readonly forks: [Fork, Fork];
  /** How many keys the two state sets disagree on. */
  readonly conflictedKeys: number;
}

export interface ForkedRoomOptions {
  readonly version: RoomVersion;
  /** Joined members before the fork (the creator included). */
  readonly members: number;
  /** State events sent after the fork, split between the two forks; each lands on a key the other fork does not change the same way. */
  readonly conflicts: number;
  readonly signed?: boolean;
}

/**
 * A room with `members` joined members that then forks in two, each fork sending about half of
 * `conflicts` state events: a power levels change and join rules flip, kicks and bans by the
 * creator and a moderator (power events), members changing their display names, and custom state
 * both forks write under the same keys. For tests (small sizes) and the state resolution benchmark
 * (members 10,000, conflicts 1,000).
 */
export function buildForkedRoom(options: ForkedRoomOptions): ForkedRoom {
  const { version, members, conflicts } = options;
  const moderator = user("mod");
  const created = createRoom(version, {
    signed: options.signed,
    users: { [moderator]: 50 },
  });
  const { room, fork: base, creator } = created;
  room.join(base, moderator);
  const names: string[] = [];
  for (let i = 0; i < members - 2; i++) {
    const name = user(`m${i}`);
    names.push(name);
    room.join(base, name);
  }

  const a = base.clone();
  const b = base.clone();
  const perFork = Math.max(1, Math.floor(conflicts / 2));
  // The members are split in two halves, one per fork, so the forks touch different members.
  const half = Math.floor(names.length / 2);
  const plan = (fork: Fork, side: 0 | 1, count: number): void => {
    const mine = side === 0 ? names.slice(0, half) : names.slice(half);
    let m = 0;
    const nextMember = (): string | undefined => mine[m++];
    for (let i = 0; i < count; i++) {
      const roll = i % 10;
      if (i === 0) {
        // One power levels change per fork: each promotes a different member.
        const promoted = mine[mine.length - 1] ?? moderator;
        const users: Record<string, number> = version.privilegedCreators ? {} : { [creator]: 100 };
        users[moderator] = 50;
        users[promoted] = 25;
        room.powerLevels(fork, creator, users);
      } else if (i === 1 && side === 1) {
        room.joinRules(fork, creator, "invite");
      } else if (roll === 2 || roll === 5) {
        const target = nextMember();
        if (target === undefined) break;
        room.member(fork, roll === 2 ? creator : moderator, target, roll === 2 ? "ban" : "leave");
      } else if (roll === 3 || roll === 7 || roll === 9) {
        room.send(fork, {
          type: "org.weft.bench",
          stateKey: `k${i}`,
          sender: creator,
          content: { side, i },
        });
      } else {
        const target = nextMember();
        if (target === undefined) break;
        room.member(fork, target, target, "join", { displayname: `${target} (${side})` });
      }
    }
  };
  plan(a, 0, perFork);
  plan(b, 1, conflicts - perFork);

  const stateSets: [StateMap, StateMap] = [a.state, b.state];
  let conflictedKeys = 0;
  for (const key of new Set([...a.state.keys(), ...b.state.keys()])) {
    if (a.state.get(key) !== b.state.get(key)) conflictedKeys++;
  }
  return { room, version, stateSets, forks: [a, b], conflictedKeys };
}

export interface RandomRoom {
  readonly room: TestRoom;
  readonly stateSets: StateMap[];
}

/**
 * A small room (alice the creator, bob a moderator, carol, dave and erin) that forks into
 * `forkCount` lines of `steps` random actions each: topics and names, power level changes, join
 * rule flips, joins, leaves, kicks, bans and invites, and now and then an event that cites the auth
 * events of another fork. Actions the rules reject against their auth events are skipped, as a
 * server would refuse to send them. Deterministic for a seed.
 */
export function randomForkedRoom(version: RoomVersion, seed: number, forkCount: number, steps: number): RandomRoom {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const alice = user("alice");
  const bob = user("bob");
  const people = [alice, bob, user("carol"), user("dave"), user("erin")];
  const { room, fork } = createRoom(version, { creator: alice, users: { [bob]: 50 } });
  room.join(fork, bob);
  room.join(fork, user("carol"));
  room.join(fork, user("dave"));
  const forks = Array.from({ length: forkCount }, () => fork.clone());
  for (let s = 0; s < steps; s++) {
    for (let f = 0; f < forks.length; f++) {
      const current = forks[f] as Fork;
      const other = forks[(f + 1) % forks.length] as Fork;
      const sender = pick(people);
      const ts = room.clock + 1 + Math.floor(random() * 5000);
      switch (Math.floor(random() * 7)) {
        case 0:
          room.trySend(current, { type: "m.room.topic", stateKey: "", sender, content: { topic: `t${s}.${f}` }, ts });
          break;
        case 1: {
          const users: Record<string, number> = { [bob]: pick([0, 50, 100]) };
          users[pick(people.slice(2))] = pick([0, 10, 50]);
          room.trySend(current, { type: "m.room.power_levels", stateKey: "", sender: pick([alice, bob]), content: { users: levels(version, alice, users) }, ts });
          break;
        }
        case 2:
          room.trySend(current, { type: "m.room.join_rules", stateKey: "", sender, content: { join_rule: pick(["public", "invite"]) }, ts });
          break;
        case 3: {
          const target = pick(people);
          const membership = target === sender ? pick(["join", "leave"]) : pick(["invite", "leave", "ban"]);
          room.trySend(current, { type: "m.room.member", stateKey: target, sender, content: { membership }, ts });
          break;
        }
        case 4:
          room.trySend(current, { type: "m.room.name", stateKey: "", sender, content: { name: `n${s}.${f}` }, ts });
          break;
        case 5:
          room.trySend(current, {
            type: "m.room.topic",
            stateKey: "",
            sender,
            content: { topic: `cross ${s}.${f}` },
            ts,
            authState: other.state,
          });
          break;
        default:
          room.trySend(current, { type: "m.room.member", stateKey: sender, sender, content: { membership: "join", displayname: `d${s}` }, ts });
      }
    }
  }
  return { room, stateSets: forks.map((f) => f.state) };
}
