// State resolution v2 (rooms/fragments/v2-state-res.md) and v2.1 (rooms/v12.md "State resolution").
import { isPowerEvent } from "../auth/index.ts";
import { stateMapKey } from "../events/room-event.ts";
import type { StateMap } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { PartialState, authKeysFor, iterativeAuthChecks } from "./auth-checks.ts";
import { EventGraph } from "./graph.ts";
import { loadPowerLevelChains, mainlineOrdering, reverseTopologicalPowerOrdering } from "./ordering.ts";
import { separateV2 } from "./separate.ts";
import type { StateResolutionSource } from "./source.ts";

const POWER_LEVELS_KEY = stateMapKey("m.room.power_levels", "");

export interface V2Options {
  /** rooms/v12.md: start the first iterative auth checks from an empty state map, and add the conflicted state subgraph. */
  readonly v21: boolean;
}

export async function resolveV2(
  stateSets: readonly StateMap[],
  version: RoomVersion,
  source: StateResolutionSource,
  options: V2Options,
): Promise<StateMap> {
  const { unconflicted, conflicted } = separateV2(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const graph = new EventGraph(source, version);
  const conflictedIdx = [...conflicted].map((id) => graph.intern(id));

  // Auth difference: ∪ Ci − ∩ Ci over the full auth chains Ci of the state sets.
  const authDiff =
    source.authChain !== undefined
      ? await authDifferenceFromIndex(graph, stateSets, source.authChain.bind(source))
      : await authDifferenceByWalking(graph, stateSets);

  // rooms/v12.md "Conflicted state subgraph": the events on auth paths between conflicted events.
  let subgraph: readonly number[] = [];
  if (options.v21) {
    await graph.loadClosure(conflictedIdx);
    subgraph = conflictedStateSubgraph(graph, conflictedIdx);
  }

  // Full conflicted set: the union of the above, less the events we cannot fetch (never in state).
  await graph.loadIndices([...conflictedIdx, ...authDiff, ...subgraph]);
  const inFull = new Uint8Array(graph.size);
  const full: number[] = [];
  for (const part of [conflictedIdx, authDiff, subgraph]) {
    for (const i of part) {
      if (inFull[i] === 1 || graph.event(i)?.stateKey === undefined) continue;
      inFull[i] = 1;
      full.push(i);
    }
  }

  // What the orderings and the checks look at: the auth events of those events, their rejection,
  // and the base state entries the rules may consult.
  const authEdges: number[] = [];
  for (const i of full) for (const a of graph.edges(i)) authEdges.push(a);
  await graph.loadIndices(authEdges);
  const rejected = new Set<number>();
  if (source.rejectedEvents !== undefined && authEdges.length > 0) {
    const ids = [...new Set(authEdges)].map((a) => graph.idOf(a));
    for (const id of await source.rejectedEvents(ids)) {
      const a = graph.indexOf(id);
      if (a !== undefined) rejected.add(a);
    }
  }
  const base = options.v21 ? undefined : unconflicted;
  if (base !== undefined) {
    const needed = new Set<string>();
    const pl = base.get(POWER_LEVELS_KEY);
    if (pl !== undefined) needed.add(pl);
    for (const i of full) {
      for (const key of authKeysFor(graph.event(i)!)) {
        const id = base.get(key);
        if (id !== undefined) needed.add(id);
      }
    }
    await graph.load(needed);
  }

  // Step 1: the power events of the full conflicted set, with the events of the full conflicted set
  // in their auth chains, in reverse topological power ordering. As Synapse and Ruma do, the auth
  // chain is followed through events of the full conflicted set only.
  const inX = new Uint8Array(graph.size);
  const x: number[] = [];
  for (const i of full) {
    if (isPowerEvent(graph.event(i)!)) {
      inX[i] = 1;
      x.push(i);
    }
  }
  for (let k = 0; k < x.length; k++) {
    for (const a of graph.edges(x[k] as number)) {
      if (inFull[a] === 1 && inX[a] !== 1) {
        inX[a] = 1;
        x.push(a);
      }
    }
  }
  const sortedPower = reverseTopologicalPowerOrdering(graph, x, inX);

  // Step 2: iterative auth checks from the unconflicted state map (v2) or an empty one (v2.1).
  const partial = new PartialState(base);
  iterativeAuthChecks(graph, sortedPower, partial, rejected);

  // Step 3: the remaining events in mainline ordering based on the resolved power levels.
  const remaining = full.filter((i) => inX[i] !== 1);
  if (remaining.length > 0) {
    const plId = partial.get(POWER_LEVELS_KEY);
    const pl = plId === undefined ? undefined : graph.intern(plId);
    await loadPowerLevelChains(graph, pl === undefined ? remaining : [pl, ...remaining]);
    const sortedRemaining = mainlineOrdering(graph, remaining, pl);
    // Step 4: iterative auth checks on the partially resolved state.
    iterativeAuthChecks(graph, sortedRemaining, partial, rejected);
  }

  // Step 5: the unconflicted state map wins over whatever the checks put under its keys.
  const resolved: StateMap = new Map(unconflicted);
  for (const [key, id] of partial.top) if (!unconflicted.has(key)) resolved.set(key, id);
  return resolved;
}

/**
 * Auth difference from walked auth chains. Ci is taken to hold the events of Si as well as their
 * auth chains, as Synapse computes it: this only keeps unconflicted state out of the difference.
 * Each event gets a bit mask of the state sets that reach it, pushed down the auth DAG once.
 */
async function authDifferenceByWalking(graph: EventGraph, stateSets: readonly StateMap[]): Promise<number[]> {
  const k = stateSets.length;
  const words = (k + 31) >>> 5;
  const roots: number[][] = stateSets.map((s) => {
    const out: number[] = [];
    for (const id of s.values()) out.push(graph.intern(id));
    return out;
  });
  await graph.loadClosure(roots.flat());

  const n = graph.size;
  const mask = new Uint32Array(n * words);
  for (let s = 0; s < k; s++) {
    const bit = (1 << (s & 31)) >>> 0;
    const w = s >>> 5;
    for (const i of roots[s] as number[]) mask[i * words + w] = ((mask[i * words + w] as number) | bit) >>> 0;
  }
  const order = graph.authFirstOrder();
  // Reverse of an auth-first order: every event before its auth events, so one pass pushes each
  // mask all the way down. A forged auth cycle needs passes until nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (let p = order.length - 1; p >= 0; p--) {
      const i = order[p] as number;
      const from = i * words;
      for (const a of graph.edges(i)) {
        const to = a * words;
        for (let w = 0; w < words; w++) {
          const before = mask[to + w] as number;
          const after = (before | (mask[from + w] as number)) >>> 0;
          if (after !== before) {
            mask[to + w] = after;
            changed = true;
          }
        }
      }
    }
    if (!graph.lastOrderHadCycle) break;
  }
  const full = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    const bits = Math.min(32, k - w * 32);
    full[w] = bits === 32 ? 0xffffffff : ((1 << bits) - 1) >>> 0;
  }
  const diff: number[] = [];
  for (let i = 0; i < n; i++) {
    let any = false;
    let all = true;
    for (let w = 0; w < words; w++) {
      const v = mask[i * words + w] as number;
      if (v !== 0) any = true;
      if (v !== full[w]) all = false;
    }
    if (any && !all) diff.push(i);
  }
  return diff;
}

/** Auth difference from auth chains answered by the source's index (with each Si itself added, as above). */
async function authDifferenceFromIndex(
  graph: EventGraph,
  stateSets: readonly StateMap[],
  authChain: (eventIds: readonly string[]) => Promise<Set<string>>,
): Promise<number[]> {
  const count = new Map<string, number>();
  for (const s of stateSets) {
    const ids = [...new Set(s.values())];
    const chain = new Set(await authChain(ids));
    for (const id of ids) chain.add(id);
    for (const id of chain) count.set(id, (count.get(id) ?? 0) + 1);
  }
  const diff: number[] = [];
  for (const [id, c] of count) if (c < stateSets.length) diff.push(graph.intern(id));
  return diff;
}

/**
 * rooms/v12.md "Conflicted state subgraph": the conflicted events, and every event that is both
 * reachable from a conflicted event and reaches one, following auth edges. The closure of the
 * conflicted events must have been fetched.
 */
export function conflictedStateSubgraph(graph: EventGraph, conflicted: readonly number[]): number[] {
  const order = graph.authFirstOrder(conflicted);
  const n = graph.size;
  const isConflicted = new Uint8Array(n);
  for (const c of conflicted) isConflicted[c] = 1;
  const cyclic = graph.lastOrderHadCycle;
  // below: reached from a conflicted event by at least one edge (events before their auth events).
  const below = new Uint8Array(n);
  for (let changed = true; changed; ) {
    changed = false;
    for (let p = order.length - 1; p >= 0; p--) {
      const i = order[p] as number;
      if (isConflicted[i] !== 1 && below[i] !== 1) continue;
      for (const a of graph.edges(i)) {
        if (below[a] !== 1) {
          below[a] = 1;
          changed = true;
        }
      }
    }
    if (!cyclic) break;
  }
  // above: reaches a conflicted event by at least one edge (auth events first).
  const above = new Uint8Array(n);
  for (let changed = true; changed; ) {
    changed = false;
    for (const i of order) {
      if (above[i] === 1) continue;
      for (const a of graph.edges(i)) {
        if (isConflicted[a] === 1 || above[a] === 1) {
          above[i] = 1;
          changed = true;
          break;
        }
      }
    }
    if (!cyclic) break;
  }
  const out: number[] = [];
  for (const i of order) if (isConflicted[i] === 1 || (below[i] === 1 && above[i] === 1)) out.push(i);
  return out;
}
