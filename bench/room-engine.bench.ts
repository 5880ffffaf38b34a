// Issue 3, the room engine:
// (a) state resolution of two forks of a room of 10,000 joined members with 1,000 conflicting state
//     events, reading its events and auth chains from the store, against merely fetching the same
//     events and copying the two state maps;
// (b) 100,000 events of a remote server through the whole pipeline on SQLite (format, signatures,
//     hashes, auth, state, persistence), against plain better-sqlite3 inserts of the same rows,
//     one transaction per event, same pragmas;
// (c) bytes of state storage per state change at 25k, 50k and 100k events: it must not grow.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDatabase } from "../src/storage/sqlite-driver.ts";
import { authEventsSelection } from "../src/core/auth/index.ts";
import { signingKeyFromSeed } from "../src/core/crypto/ed25519.ts";
import { toRoomEvent } from "../src/core/events/pdu.ts";
import { stateMapKey } from "../src/core/events/room-event.ts";
import type { Pdu, RoomEvent, StateMap } from "../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../src/core/events/sign.ts";
import type { JsonObject } from "../src/core/json.ts";
import { getRoomVersion } from "../src/core/room-versions/room-versions.ts";
import type { RoomVersion } from "../src/core/room-versions/room-versions.ts";
import { resolveState } from "../src/core/state-res/index.ts";
import type { StateResolutionSource } from "../src/core/state-res/index.ts";
import { MemoryKeyRing, Roomserver } from "../src/homeserver/roomserver/index.ts";
import { knownFromStored } from "../src/homeserver/roomserver/known-event.ts";
import { openDatabase } from "../src/storage/database.ts";
import { EventStore } from "../src/storage/stores/events.ts";
import type { EventRecord } from "../src/storage/stores/events.ts";
import { NidCaches } from "../src/storage/stores/nid-cache.ts";
import { StateSnapshot } from "../src/storage/stores/state-snapshot.ts";
import { buildForkedRoom } from "../test/core/state-res/fixtures.ts";
import { printFigure } from "./lib.ts";

const MEMBERS = 10_000;
const CONFLICTS = 1_000;
const STREAM_EVENTS = Number(process.env.WEFT_BENCH_ROOM_EVENTS ?? 100_000);
const IN_FLIGHT = Number(process.env.WEFT_BENCH_IN_FLIGHT ?? 1_000);

function versionOf(id: string): RoomVersion {
  const v = getRoomVersion(id);
  if (v === undefined) throw new Error(`no room version ${id}`);
  return v;
}

async function tempDir(): Promise<{ dir: string; drop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-room-"));
  return { dir, drop: () => rm(dir, { recursive: true, force: true }) };
}

/** A state resolution source over the store: events and the auth chain index, nothing cached between runs. */
function storeSource(store: EventStore): StateResolutionSource {
  return {
    fetchEvents: async (ids) => {
      const out = new Map<string, RoomEvent>();
      for (const [id, stored] of await store.getEvents(ids)) out.set(id, knownFromStored(stored).event);
      return out;
    },
    authChain: (ids) => store.authChain(ids),
    rejectedEvents: (ids) => store.rejectedAmong(ids),
  };
}

/** Stores a fixture room's events as accepted, each with its state before and after (no checks: they are the fixture's). */
async function storeFixtureRoom(store: EventStore, events: readonly RoomEvent[]): Promise<void> {
  const after = new Map<string, StateSnapshot>();
  const records: EventRecord[] = [];
  for (const event of events) {
    const prevStates = event.prevEventIds.map((id) => after.get(id)).filter((s): s is StateSnapshot => s !== undefined);
    const before = prevStates[0] ?? StateSnapshot.empty();
    const stateAfter = event.stateKey === undefined ? before : before.apply(new Map([[stateMapKey(event.type, event.stateKey), event.eventId]]));
    after.set(event.eventId, stateAfter);
    records.push({
      eventId: event.eventId,
      type: event.type,
      stateKey: event.stateKey,
      sender: event.sender,
      depth: event.depth,
      originServerTs: event.originServerTs,
      json: JSON.stringify(event.pdu),
      prevEventIds: event.prevEventIds,
      authEventIds: event.authEventIds,
      outlier: false,
      backfilled: false,
      softFailed: false,
      rejectedReason: undefined,
      stateBefore: before,
      stateAfter,
      replacesOutlier: false,
    });
  }
  const roomId = events[0]?.roomId ?? "";
  for (let i = 0; i < records.length; i += 500) {
    await store.persist({
      roomId,
      roomVersion: events[0]?.roomVersion.id ?? "11",
      events: records.slice(i, i + 500),
      stream: [],
      applyRedactions: [],
      pendingRedactions: [],
      settledRedactions: [],
      now: Date.now(),
    });
  }
}

async function stateResolutionBench(): Promise<void> {
  const version = versionOf("11");
  const forked = buildForkedRoom({ version, members: MEMBERS, conflicts: CONFLICTS, signed: true });
  const { dir, drop } = await tempDir();
  const db = await openDatabase({ engine: "sqlite", path: join(dir, "weft.db") });
  try {
    const store = new EventStore(db, new NidCaches());
    await storeFixtureRoom(store, [...forked.room.events.values()]);
    const [a, b] = forked.stateSets;
    const runs = 5;
    let resolveMs = Infinity;
    let fetchMs = Infinity;
    let size = 0;
    for (let i = 0; i < runs; i++) {
      // Fresh caches each run: every event comes from the database.
      const fresh = new EventStore(db, new NidCaches());
      const t0 = performance.now();
      const resolved = await resolveState([a, b], version, storeSource(fresh));
      resolveMs = Math.min(resolveMs, performance.now() - t0);
      size = resolved.size;
      const plain = new EventStore(db, new NidCaches());
      const t1 = performance.now();
      const copies = [new Map(a), new Map(b)];
      const ids = [...new Set([...a.values(), ...b.values()])];
      const fetched = await plain.getEvents(ids);
      for (const stored of fetched.values()) knownFromStored(stored);
      fetchMs = Math.min(fetchMs, performance.now() - t1);
      if (copies.length !== 2 || fetched.size !== ids.length) throw new Error("baseline fetched too little");
    }
    printFigure({
      name: `resolve 2 forks, ${MEMBERS.toLocaleString("en-US")} members, ${forked.conflictedKeys} conflicted keys (from SQLite, best of ${runs}; ${size} keys out)`,
      value: resolveMs,
      unit: "ms",
      better: "lower",
      baseline: { name: "fetch the same events and copy both maps", value: fetchMs },
    });
  } finally {
    await db.close();
    await drop();
  }
}

interface StreamPlan {
  readonly roomId: string;
  readonly pdus: Pdu[];
  /** How many of the events up to each index are state events. */
  readonly stateChangesUpTo: number[];
}

const REMOTE = "remote.bench";
const REMOTE_KEY = signingKeyFromSeed(new Uint8Array(32).fill(9), "bench");

/**
 * A remote room of `members` members and `total` events: the create event and initial state,
 * joins, then mostly messages with a state change (a display name) every tenth event.
 */
function planStream(total: number, members: number): StreamPlan {
  const version = versionOf("11");
  const state: StateMap = new Map();
  const pdus: Pdu[] = [];
  const stateChangesUpTo: number[] = [];
  let prev: string | undefined;
  let depth = 0;
  let stateChanges = 0;
  let roomId = `!bench:${REMOTE}`;
  const users = Array.from({ length: members }, (_, i) => `@u${i}:${REMOTE}`);
  const creator = users[0] as string;
  const add = (type: string, sender: string, content: JsonObject, stateKey?: string): void => {
    const authEvents = authEventsSelection({ type, stateKey, sender, content }, version)
      .map(([t, k]) => state.get(stateMapKey(t, k)))
      .filter((id): id is string => id !== undefined);
    const pdu: Pdu = {
      room_id: roomId,
      type,
      sender,
      content,
      origin_server_ts: 1_800_000_000_000 + pdus.length,
      depth: ++depth,
      prev_events: prev === undefined ? [] : [prev],
      auth_events: authEvents,
    };
    if (stateKey !== undefined) pdu["state_key"] = stateKey;
    const signed = hashAndSignEvent(pdu, version, REMOTE, REMOTE_KEY);
    const event = toRoomEvent(signed, version);
    roomId = event.roomId;
    prev = event.eventId;
    if (stateKey !== undefined) {
      state.set(stateMapKey(type, stateKey), event.eventId);
      stateChanges++;
    }
    pdus.push(signed);
    stateChangesUpTo.push(stateChanges);
  };
  add("m.room.create", creator, { room_version: version.id }, "");
  add("m.room.member", creator, { membership: "join" }, creator);
  add("m.room.power_levels", creator, { users: { [creator]: 100 } }, "");
  add("m.room.join_rules", creator, { join_rule: "public" }, "");
  for (const user of users.slice(1)) {
    if (pdus.length >= total) break;
    add("m.room.member", user, { membership: "join" }, user);
  }
  let n = 0;
  while (pdus.length < total) {
    const user = users[(n * 7919) % users.length] as string;
    if (n % 10 === 9) add("m.room.member", user, { membership: "join", displayname: `user ${n}` }, user);
    else add("m.room.message", user, { msgtype: "m.text", body: `message ${n} of the benchmark, with a few words in it` });
    n++;
  }
  return { roomId, pdus, stateChangesUpTo };
}

async function pipelineBench(): Promise<void> {
  const planStarted = performance.now();
  const plan = planStream(STREAM_EVENTS, MEMBERS);
  console.log(`  (built ${plan.pdus.length.toLocaleString("en-US")} signed events in ${((performance.now() - planStarted) / 1000).toFixed(1)} s)`);
  const { dir, drop } = await tempDir();
  const db = await openDatabase({ engine: "sqlite", path: join(dir, "weft.db") });
  try {
    const keyRing = new MemoryKeyRing();
    keyRing.addSigningKey(REMOTE, REMOTE_KEY);
    const roomserver = new Roomserver({ db, serverName: "local.bench", signingKey: signingKeyFromSeed(new Uint8Array(32).fill(3), "l"), keyRing });
    const checkpoints = [25_000, 50_000, 100_000].filter((c) => c <= plan.pdus.length);
    const stateBytes: Array<{ events: number; changes: number; bytesPerChange: number; entriesPerChange: number; groups: number; full: number }> = [];
    let elapsed = 0;
    let next = 0;
    for (const checkpoint of new Set([...checkpoints, plan.pdus.length])) {
      const started = performance.now();
      // A window of IN_FLIGHT inputs, as a federation receiver with many transactions would keep.
      let inFlight = 0;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      for (; next < checkpoint; next++) {
        const index = next;
        inFlight++;
        void roomserver.input({ kind: "new", pdu: plan.pdus[index] as Pdu }).then(
          (r) => {
            if (r.outcome !== "accepted") failure ??= new Error(`event ${index} was ${r.outcome}: ${"reason" in r ? r.reason : ""}`);
            inFlight--;
            wake?.();
          },
          (err: unknown) => {
            failure ??= err instanceof Error ? err : new Error(String(err));
            inFlight--;
            wake?.();
          },
        );
        while (inFlight >= IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
      }
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      if (failure !== undefined) throw failure;
      elapsed += performance.now() - started;
      if (checkpoints.includes(checkpoint)) {
        const stats = await roomserver.store.state.storageStats();
        const changes = plan.stateChangesUpTo[checkpoint - 1] ?? 1;
        stateBytes.push({ events: checkpoint, changes, bytesPerChange: stats.bytes / changes, entriesPerChange: stats.entries / changes, groups: stats.groups, full: stats.fullGroups });
      }
    }
    const total = plan.pdus.length;
    const ours = total / (elapsed / 1000);
    const baseline = await plainInsertBench(plan.pdus.slice(0, Math.min(total, 20_000)), dir);
    printFigure({
      name: `${total.toLocaleString("en-US")} remote events through the pipeline (SQLite, synchronous=FULL)`,
      value: ours,
      unit: "events/s",
      better: "higher",
      baseline: { name: "plain better-sqlite3 insert of the same rows, one transaction each", value: baseline },
    });
    let previous: (typeof stateBytes)[number] | undefined;
    for (const s of stateBytes) {
      // The cost of the changes since the previous checkpoint: flat if storage grows with changes only.
      const marginal = previous === undefined ? "" : `, ${((s.bytesPerChange * s.changes - previous.bytesPerChange * previous.changes) / (s.changes - previous.changes)).toFixed(0)} bytes a change since ${previous.events.toLocaleString("en-US")}`;
      previous = s;
      printFigure({
        name: `state storage per state change after ${s.events.toLocaleString("en-US")} events (${s.changes.toLocaleString("en-US")} changes, ${s.groups.toLocaleString("en-US")} groups, ${s.full} full)`,
        value: s.bytesPerChange,
        unit: `bytes (${s.entriesPerChange.toFixed(1)} entries${marginal})`,
        better: "lower",
      });
    }
  } finally {
    await db.close();
    await drop();
  }
}

/** The baseline: each event's row inserted with better-sqlite3 in its own transaction, WAL and synchronous=FULL as ours. */
async function plainInsertBench(pdus: readonly Pdu[], dir: string): Promise<number> {
  const db = new SqliteDatabase(join(dir, "plain.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("create table events (event_nid integer primary key autoincrement, event_id text not null unique, room_id text not null, type text not null, sender text not null, depth integer not null, json text not null)");
  const insert = db.prepare("insert into events (event_id, room_id, type, sender, depth, json) values (?, ?, ?, ?, ?, ?)");
  const insertOne = db.transaction((row: unknown[]) => insert.run(...row));
  const rows = pdus.map((pdu, i) => [`$plain${i}`, pdu["room_id"], pdu["type"], pdu["sender"], pdu["depth"], JSON.stringify(pdu)]);
  const started = performance.now();
  for (const row of rows) insertOne(row);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return rows.length / seconds;
}

export async function roomEngineBench(): Promise<void> {
  if (process.env.WEFT_BENCH_ONLY !== "pipeline") await stateResolutionBench();
  if (process.env.WEFT_BENCH_ONLY !== "resolution") await pipelineBench();
}

