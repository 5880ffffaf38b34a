// Splitting state sets into what they agree on and what they do not.
import type { StateMap } from "../events/room-event.ts";

export interface SeparatedState {
  /** rooms/fragments/v2-state-res.md "unconflicted state map": keys present in every set with one value. */
  readonly unconflicted: StateMap;
  /** rooms/fragments/v2-state-res.md "conflicted state set": every other value, as event IDs. */
  readonly conflicted: Set<string>;
}

/**
 * The v2 split (rooms/fragments/v2-state-res.md "Unconflicted state map and conflicted state set"):
 * a key missing from some state set is conflicted, unlike in v1.
 */
export function separateV2(stateSets: readonly StateMap[]): SeparatedState {
  const unconflicted: StateMap = new Map();
  const conflicted = new Set<string>();
  const k = stateSets.length;
  for (let si = 0; si < k; si++) {
    const set = stateSets[si] as StateMap;
    for (const key of set.keys()) {
      // Each key is handled once, by the first set that has it.
      let seenEarlier = false;
      for (let sj = 0; sj < si && !seenEarlier; sj++) seenEarlier = (stateSets[sj] as StateMap).has(key);
      if (seenEarlier) continue;
      const first = set.get(key) as string;
      let same = si === 0;
      for (let sj = si + 1; sj < k && same; sj++) same = (stateSets[sj] as StateMap).get(key) === first;
      if (same) {
        unconflicted.set(key, first);
      } else {
        for (let sj = si; sj < k; sj++) {
          const id = (stateSets[sj] as StateMap).get(key);
          if (id !== undefined) conflicted.add(id);
        }
      }
    }
  }
  return { unconflicted, conflicted };
}

/**
 * The v1 split (rooms/v1.md "State resolution": a conflict is different event IDs for one key): a key
 * held by only some of the sets, with a single value, is not conflicted.
 */
export function separateV1(stateSets: readonly StateMap[]): { unconflicted: StateMap; conflicted: Map<string, Set<string>> } {
  const unconflicted: StateMap = new Map();
  const conflicted = new Map<string, Set<string>>();
  for (const set of stateSets) {
    for (const [key, id] of set) {
      const values = conflicted.get(key);
      if (values !== undefined) {
        values.add(id);
        continue;
      }
      const current = unconflicted.get(key);
      if (current === undefined) {
        unconflicted.set(key, id);
      } else if (current !== id) {
        unconflicted.delete(key);
        conflicted.set(key, new Set([current, id]));
      }
    }
  }
  return { unconflicted, conflicted };
}
