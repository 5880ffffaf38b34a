// The original state resolution algorithm (rooms/v1.md "State resolution").
import { checkEventAuth } from "../auth/index.ts";
import type { AuthStateLookup } from "../auth/index.ts";
import { sha1 } from "../crypto/hashes.ts";
import { stateMapKey } from "../events/room-event.ts";
import type { RoomEvent, StateMap } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { authKeysFor } from "./auth-checks.ts";
import { EventGraph } from "./graph.ts";
import { separateV1 } from "./separate.ts";
import type { StateResolutionSource } from "./source.ts";

interface Candidate {
  readonly event: RoomEvent;
  readonly sha1: string;
}

/** rooms/v1.md: ascending depth, then descending sha1(event_id). */
function ascendingDepthDescendingSha1(a: Candidate, b: Candidate): number {
  if (a.event.depth !== b.event.depth) return a.event.depth < b.event.depth ? -1 : 1;
  return a.sha1 < b.sha1 ? 1 : a.sha1 > b.sha1 ? -1 : 0;
}

function allowedIn(event: RoomEvent, state: ReadonlyMap<string, string>, graph: EventGraph): boolean {
  const lookup: AuthStateLookup = (type, stateKey) => {
    const id = state.get(stateMapKey(type, stateKey));
    return id === undefined ? undefined : graph.eventById(id);
  };
  try {
    return checkEventAuth(event, lookup).allowed;
  } catch {
    return false;
  }
}

/**
 * rooms/v1.md: add the first event of the list to R, then each following event while the
 * authorization rules allow it in R; stop at the first that is not allowed. Returns the last added.
 */
function resolveAuthConflict(key: string, candidates: Candidate[], state: StateMap, graph: EventGraph): string {
  const list = [...candidates].sort(ascendingDepthDescendingSha1);
  const r = new Map(state);
  let chosen = (list[0] as Candidate).event.eventId;
  r.set(key, chosen);
  for (let k = 1; k < list.length; k++) {
    const event = (list[k] as Candidate).event;
    if (!allowedIn(event, r, graph)) break;
    chosen = event.eventId;
    r.set(key, chosen);
  }
  return chosen;
}

export async function resolveV1(
  stateSets: readonly StateMap[],
  version: RoomVersion,
  source: StateResolutionSource,
): Promise<StateMap> {
  const { unconflicted, conflicted } = separateV1(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const graph = new EventGraph(source, version);
  const all: string[] = [];
  for (const ids of conflicted.values()) all.push(...ids);
  await graph.load(all);

  // Events we cannot fetch drop out; a key left with one event is no longer conflicted.
  const r: StateMap = new Map(unconflicted);
  const byKey = new Map<string, Candidate[]>();
  for (const [key, ids] of conflicted) {
    const candidates: Candidate[] = [];
    for (const id of ids) {
      const event = graph.eventById(id);
      if (event === undefined || event.stateKey === undefined) continue;
      candidates.push({ event, sha1: sha1(id).toString("hex") });
    }
    if (candidates.length === 1) r.set(key, (candidates[0] as Candidate).event.eventId);
    else if (candidates.length > 1) byKey.set(key, candidates);
  }
  if (byKey.size === 0) return r;

  // The rules look state up synchronously: fetch the entries of R they may consult.
  const needed = new Set<string>();
  for (const candidates of byKey.values()) {
    for (const { event } of candidates) {
      for (const key of authKeysFor(event)) {
        const id = r.get(key);
        if (id !== undefined) needed.add(id);
      }
    }
  }
  await graph.load(needed);

  // Power levels, then join rules, then memberships, each pass applied to R before the next. Within
  // a pass every key is resolved against the same R (as Synapse does), so that the outcome does not
  // depend on the order in which the keys are taken.
  const passes: Array<(key: string) => boolean> = [
    (key) => key === stateMapKey("m.room.power_levels", ""),
    (key) => key.startsWith(stateMapKey("m.room.join_rules", "")),
    (key) => key.startsWith(stateMapKey("m.room.member", "")),
  ];
  for (const inPass of passes) {
    const results: Array<[string, string]> = [];
    for (const [key, candidates] of byKey) {
      if (inPass(key)) results.push([key, resolveAuthConflict(key, candidates, r, graph)]);
    }
    for (const [key, id] of results) {
      r.set(key, id);
      byKey.delete(key);
    }
  }

  // Everything else: the highest depth, lowest sha1(event_id) that passes the checks in R; when none
  // does, the last of that order (as Synapse does; the spec does not say).
  const others: Array<[string, string]> = [];
  for (const [key, candidates] of byKey) {
    const list = [...candidates].sort(ascendingDepthDescendingSha1).reverse();
    let chosen = (list[list.length - 1] as Candidate).event.eventId;
    for (const { event } of list) {
      if (allowedIn(event, r, graph)) {
        chosen = event.eventId;
        break;
      }
    }
    others.push([key, chosen]);
  }
  for (const [key, id] of others) r.set(key, id);
  return r;
}
