// A room state (server-server-api "Room State Resolution": a map of (event_type, state_key) to
// event_id) held as a full map plus at most two layers of changes, the in-memory mirror of how
// room-state.ts stores state groups (see the design there). A snapshot is immutable: deriving the
// state after a change makes a new snapshot that shares its root, and usually its middle layer,
// with its parent, so the cost of a change is bounded by the layer caps, not the room's size.
import type { StateMap } from "../../core/events/room-event.ts";

/** The deepest layer: a snapshot at level 2 is a delta over a level 1 over a full level 0 map. */
export const MAX_LEVEL = 2;
/** At most this many keys differ between a level-2 snapshot and its level-1 base. */
export const LEAF_CAP = 32;

/**
 * The most keys a level-1 delta may hold over a full map of `rootSize` keys. A full copy costs
 * rootSize and happens about every cap changes; a level-1 delta costs up to cap and happens every
 * LEAF_CAP changes; cap = sqrt(2 * LEAF_CAP * rootSize) balances the two per change.
 */
export function middleCap(rootSize: number): number {
  return Math.max(2 * LEAF_CAP, Math.ceil(Math.sqrt(2 * LEAF_CAP * rootSize)));
}

/** A change to a state: key -> the new event ID, or null when the key leaves the state. */
export type StateChanges = ReadonlyMap<string, string | null>;

export class StateSnapshot {
  readonly level: number;
  /** The snapshot `delta` is over; undefined at level 0. */
  readonly base: StateSnapshot | undefined;
  /** Level 0: the full map (no nulls). Otherwise the keys that differ from `base`. */
  readonly delta: ReadonlyMap<string, string | null>;
  /** How many keys the full state holds. */
  readonly size: number;
  /** The state group storing this snapshot, once persisted (room-state.ts). */
  group: number | undefined;

  private constructor(level: number, base: StateSnapshot | undefined, delta: ReadonlyMap<string, string | null>, size: number, group?: number) {
    this.level = level;
    this.base = base;
    this.delta = delta;
    this.size = size;
    this.group = group;
  }

  /** A level-0 snapshot of a full state map (copied). */
  static full(state: ReadonlyMap<string, string>, group?: number): StateSnapshot {
    return new StateSnapshot(0, undefined, new Map(state), state.size, group);
  }

  /** The empty state, before a room's create event. */
  static empty(): StateSnapshot {
    return StateSnapshot.full(new Map());
  }

  /** A snapshot read back from storage: `delta` over `base` (undefined for a full one). */
  static stored(base: StateSnapshot | undefined, delta: ReadonlyMap<string, string | null>, size: number, group: number): StateSnapshot {
    if (base === undefined) return new StateSnapshot(0, undefined, delta, size, group);
    return new StateSnapshot(base.level + 1, base, delta, size, group);
  }

  /** The level-0 snapshot at the bottom of the chain. */
  get root(): StateSnapshot {
    return this.base === undefined ? this : this.base.root;
  }

  /** The event ID at a key (a stateMapKey), or undefined. At most MAX_LEVEL + 1 map lookups. */
  get(key: string): string | undefined {
    const value = this.delta.get(key);
    // A layer's null is the key leaving the state; undefined is a layer that does not change it.
    if (value === null) return undefined;
    if (value !== undefined) return value;
    return this.base?.get(key);
  }

  /** The full state as a new map. */
  toMap(): StateMap {
    const layers = chainOf(this).reverse();
    const map: StateMap = new Map(layers[0]?.delta as ReadonlyMap<string, string>);
    for (const layer of layers.slice(1)) {
      for (const [key, value] of layer.delta) {
        if (value === null) map.delete(key);
        else map.set(key, value);
      }
    }
    return map;
  }

  /** Whether `ancestor` is this snapshot or one it is layered over. */
  isOver(ancestor: StateSnapshot): boolean {
    return this === ancestor || (this.base?.isOver(ancestor) ?? false);
  }

  /** The changes that turn `ancestor` (this or one of its bases) into this snapshot. */
  changesSince(ancestor: StateSnapshot): Map<string, string | null> {
    const chain = chainOf(this);
    const at = chain.indexOf(ancestor);
    if (at < 0) throw new Error("changesSince: not an ancestor of this snapshot");
    const layers = chain.slice(0, at).reverse();
    const changes = new Map<string, string | null>();
    for (const layer of layers) for (const [key, value] of layer.delta) changes.set(key, value);
    return changes;
  }

  /**
   * The snapshot after `changes`: a delta over the deepest base whose layer stays within its cap,
   * else a full copy. Returns this snapshot itself when nothing changes.
   */
  apply(changes: StateChanges): StateSnapshot {
    let effective = 0;
    let size = this.size;
    for (const [key, value] of changes) {
      const old = this.get(key);
      if ((old ?? null) === value) continue;
      effective++;
      if (old === undefined) size++;
      else if (value === null) size--;
    }
    if (effective === 0) return this;
    // Candidate bases, deepest first: the nearest snapshot below MAX_LEVEL, then its bases.
    let candidate: StateSnapshot | undefined = this.level < MAX_LEVEL ? this : this.base;
    for (; candidate !== undefined; candidate = candidate.base) {
      const level = candidate.level + 1;
      const cap = Math.min(level === MAX_LEVEL ? LEAF_CAP : middleCap(candidate.root.size), Math.max(1, Math.floor(size / 2)));
      const delta = this.changesSince(candidate);
      for (const [key, value] of changes) delta.set(key, value);
      // Keep only the keys that really differ from the base.
      for (const [key, value] of delta) if ((candidate.get(key) ?? null) === value) delta.delete(key);
      if (delta.size <= cap) return new StateSnapshot(level, candidate, delta, size);
    }
    const full = this.toMap();
    for (const [key, value] of changes) {
      if (value === null) full.delete(key);
      else full.set(key, value);
    }
    return new StateSnapshot(0, undefined, full, full.size);
  }

  /** The snapshot holding exactly `state`, layered over this one. */
  become(state: ReadonlyMap<string, string>): StateSnapshot {
    return this.apply(diffStates(this, state));
  }
}

/** A snapshot and the snapshots it is layered over, itself first. */
function chainOf(snapshot: StateSnapshot): StateSnapshot[] {
  const chain: StateSnapshot[] = [];
  for (let s: StateSnapshot | undefined = snapshot; s !== undefined; s = s.base) chain.push(s);
  return chain;
}

/** The changes that turn `from` into `to`. */
export function diffStates(from: StateSnapshot, to: ReadonlyMap<string, string>): Map<string, string | null> {
  const changes = new Map<string, string | null>();
  const current = from.toMap();
  for (const [key, id] of to) if (current.get(key) !== id) changes.set(key, id);
  for (const key of current.keys()) if (!to.has(key)) changes.set(key, null);
  return changes;
}

/**
 * The changes that turn `from` into `to`, cheaply when they share a base (they usually do: the
 * state after an event is layered over the state before it); a full comparison otherwise.
 */
export function changesBetween(from: StateSnapshot, to: StateSnapshot): Map<string, string | null> {
  if (from === to) return new Map();
  let common: StateSnapshot | undefined;
  for (let s: StateSnapshot | undefined = from; s !== undefined && common === undefined; s = s.base) if (to.isOver(s)) common = s;
  if (common === undefined) return diffStates(from, to.toMap());
  const ancestor = common;
  // Only the keys of the layers above the common ancestor can differ; each is compared once.
  const changes = new Map<string, string | null>();
  const seen = new Set<string>();
  const visit = (layer: StateSnapshot): void => {
    if (layer === ancestor) return;
    if (layer.base !== undefined) visit(layer.base);
    for (const key of layer.delta.keys()) {
      if (seen.has(key)) continue;
      seen.add(key);
      const value = to.get(key) ?? null;
      if ((from.get(key) ?? null) !== value) changes.set(key, value);
    }
  };
  visit(from);
  visit(to);
  return changes;
}
