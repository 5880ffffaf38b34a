// A few keys of the state at many events, read in two batches (the events' state groups, then
// the groups), without building any full state map: for prev_content, lazy-loaded members and
// membership at an event. Reads the room engine's store through its public methods.
import type { EventStore } from "../../storage/stores/events.ts";

export class StateLookup {
  readonly #store: EventStore;

  constructor(store: EventStore) {
    this.#store = store;
  }

  /**
   * For each event, the event IDs at the wanted state keys (stateMapKey) in the state before or
   * after it. Events with no state (outliers, unknown) are left out.
   */
  async at(
    wanted: ReadonlyMap<string, readonly string[]>,
    when: "before" | "after",
  ): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    if (wanted.size === 0) return out;
    const stored = await this.#store.getEvents([...wanted.keys()]);
    const groupOf = new Map<string, number>();
    for (const [eventId, event] of stored) {
      const group = when === "before" ? event.stateBefore : event.stateAfter;
      if (group !== null) groupOf.set(eventId, group);
    }
    const snapshots = await this.#store.state.loadSnapshots([...new Set(groupOf.values())]);
    for (const [eventId, keys] of wanted) {
      const group = groupOf.get(eventId);
      const snapshot = group === undefined ? undefined : snapshots.get(group);
      if (snapshot === undefined) continue;
      const found = new Map<string, string>();
      for (const key of keys) {
        const id = snapshot.get(key);
        if (id !== undefined) found.set(key, id);
      }
      out.set(eventId, found);
    }
    return out;
  }
}
