// The two orderings of state resolution v2 (rooms/fragments/v2-state-res.md "Definitions").
import { compareCodePoints } from "./compare.ts";
import type { EventGraph } from "./graph.ts";
import { IndexHeap } from "./heap.ts";
import { senderPowerLevel } from "./auth-checks.ts";

function timestampOf(graph: EventGraph, i: number): number {
  const ts = graph.event(i)?.originServerTs;
  return typeof ts === "number" && Number.isFinite(ts) ? ts : 0;
}

/** Ranks of the events' IDs in code point order: rank[k] is the rank of events[k]. */
function idRanks(graph: EventGraph, events: readonly number[]): Int32Array {
  const order = events.map((_, k) => k);
  order.sort((a, b) => compareCodePoints(graph.idOf(events[a] as number), graph.idOf(events[b] as number)));
  const rank = new Int32Array(events.length);
  for (let r = 0; r < order.length; r++) rank[order[r] as number] = r;
  return rank;
}

/**
 * rooms/fragments/v2-state-res.md "Reverse topological power ordering": Kahn's algorithm over the
 * DAG the auth events form among `events`, taking at each step the smallest candidate by (sender's
 * power level descending, origin_server_ts ascending, event_id ascending). Earliest event first.
 * `member[i]` is non-zero exactly for the events being sorted; edges leaving the set are ignored.
 */
export function reverseTopologicalPowerOrdering(
  graph: EventGraph,
  events: readonly number[],
  member: Uint8Array,
): number[] {
  const m = events.length;
  const local = new Map<number, number>();
  for (let k = 0; k < m; k++) local.set(events[k] as number, k);

  // outDegree[k]: auth events of events[k] inside the set; citedBy: the reverse edges, as CSR.
  const outDegree = new Int32Array(m);
  const inCount = new Int32Array(m + 1);
  for (let k = 0; k < m; k++) {
    for (const a of graph.edges(events[k] as number)) {
      if (member[a] !== 1) continue;
      const ka = local.get(a);
      if (ka === undefined) continue;
      outDegree[k] = (outDegree[k] as number) + 1;
      inCount[ka + 1] = (inCount[ka + 1] as number) + 1;
    }
  }
  for (let k = 0; k < m; k++) inCount[k + 1] = (inCount[k + 1] as number) + (inCount[k] as number);
  const citedBy = new Int32Array(inCount[m] as number);
  const fill = inCount.slice(0, m);
  for (let k = 0; k < m; k++) {
    for (const a of graph.edges(events[k] as number)) {
      if (member[a] !== 1) continue;
      const ka = local.get(a);
      if (ka === undefined) continue;
      const at = fill[ka] as number;
      citedBy[at] = k;
      fill[ka] = at + 1;
    }
  }

  const power = new Float64Array(m);
  const ts = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    power[k] = senderPowerLevel(graph, events[k] as number);
    ts[k] = timestampOf(graph, events[k] as number);
  }
  const rank = idRanks(graph, events);
  const heap = new IndexHeap((a, b) => {
    const pa = power[a] as number;
    const pb = power[b] as number;
    if (pa !== pb) return pa > pb; // greater power level first
    const ta = ts[a] as number;
    const tb = ts[b] as number;
    if (ta !== tb) return ta < tb; // then smaller origin_server_ts
    return (rank[a] as number) < (rank[b] as number); // then smaller event_id
  });

  for (let k = 0; k < m; k++) if (outDegree[k] === 0) heap.push(k);
  const sorted: number[] = [];
  while (heap.size > 0) {
    const k = heap.pop();
    sorted.push(events[k] as number);
    for (let p = inCount[k] as number; p < (inCount[k + 1] as number); p++) {
      const parent = citedBy[p] as number;
      const left = (outDegree[parent] as number) - 1;
      outDegree[parent] = left;
      if (left === 0) heap.push(parent);
    }
  }
  // Events on an auth cycle (forgeable only with v1-v2 event IDs) never become candidates and are left out.
  return sorted;
}

/** The m.room.power_levels event among the event's auth events, if it cites one and we have it. */
export function powerLevelsAuthEvent(graph: EventGraph, i: number): number | undefined {
  for (const a of graph.edges(i)) {
    const e = graph.event(a);
    if (e !== undefined && e.type === "m.room.power_levels" && e.stateKey === "") return a;
  }
  return undefined;
}

/**
 * Fetches the power level chains (each event's m.room.power_levels auth event, and so on) of these
 * events, one batch per step down the chains.
 */
export async function loadPowerLevelChains(graph: EventGraph, starts: readonly number[]): Promise<void> {
  const seen = new Set<number>();
  let frontier = starts.filter((i) => {
    if (seen.has(i)) return false;
    seen.add(i);
    return true;
  });
  while (frontier.length > 0) {
    await graph.loadIndices(frontier);
    const authEvents: number[] = [];
    for (const i of frontier) for (const a of graph.edges(i)) authEvents.push(a);
    await graph.loadIndices(authEvents);
    const next: number[] = [];
    for (const i of frontier) {
      const p = powerLevelsAuthEvent(graph, i);
      if (p !== undefined && !seen.has(p)) {
        seen.add(p);
        next.push(p);
      }
    }
    frontier = next;
  }
}

/**
 * rooms/fragments/v2-state-res.md "Mainline ordering": sorts `events` by mainline position based on
 * the power level event `powerLevels` (greater position first; an event whose power level chain
 * never meets the mainline has position infinity), then origin_server_ts, then event_id.
 * Positions are memoised along the chains, so each power level event is walked once.
 * The chains must have been fetched (loadPowerLevelChains).
 */
export function mainlineOrdering(graph: EventGraph, events: readonly number[], powerLevels: number | undefined): number[] {
  // The mainline of P0: [P0, P1, ..., Pn], position i for Pi.
  const mainline = new Map<number, number>();
  let p = powerLevels;
  while (p !== undefined && !mainline.has(p)) {
    mainline.set(p, mainline.size);
    p = powerLevelsAuthEvent(graph, p);
  }

  // memo: for a power level event x, the position of the first of x, x's power level auth event, ...
  // that is on the mainline (infinity if none).
  const memo = new Map<number, number>();
  const positionFrom = (start: number): number => {
    const path: number[] = [];
    const onPath = new Set<number>();
    let result = Infinity;
    let x: number | undefined = start;
    while (x !== undefined) {
      const onMainline = mainline.get(x);
      if (onMainline !== undefined) {
        result = onMainline;
        break;
      }
      const known = memo.get(x);
      if (known !== undefined) {
        result = known;
        break;
      }
      if (onPath.has(x)) break; // a forged cycle: never meets the mainline
      onPath.add(x);
      path.push(x);
      x = powerLevelsAuthEvent(graph, x);
    }
    for (const y of path) memo.set(y, result);
    return result;
  };

  const m = events.length;
  const position = new Float64Array(m);
  const ts = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const e = events[k] as number;
    // e0 itself is not in its list: the search starts at e1, its power level auth event.
    const first = powerLevelsAuthEvent(graph, e);
    position[k] = first === undefined ? Infinity : positionFrom(first);
    ts[k] = timestampOf(graph, e);
  }
  const rank = idRanks(graph, events);
  const order = events.map((_, k) => k);
  order.sort((a, b) => {
    const pa = position[a] as number;
    const pb = position[b] as number;
    if (pa !== pb) return pa > pb ? -1 : 1; // greater mainline position first
    const ta = ts[a] as number;
    const tb = ts[b] as number;
    if (ta !== tb) return ta < tb ? -1 : 1;
    return (rank[a] as number) - (rank[b] as number);
  });
  return order.map((k) => events[k] as number);
}
