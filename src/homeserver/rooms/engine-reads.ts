// The reads this area makes of the room engine, as the narrow interfaces its services take: the
// Roomserver's public methods and its EventStore's public reads, nothing of their internals.
import type { JsonObject } from "../../core/json.ts";
import { isJsonObject } from "../../core/json.ts";
import type { Roomserver } from "../roomserver/index.ts";
import type { MembershipIndexSource } from "./membership-index.ts";
import type { StateLookup, VisibilitySource } from "./visibility.ts";

export function membershipIndexSource(roomserver: Roomserver): MembershipIndexSource {
  return {
    subscribe: (listener) => roomserver.subscribe(listener),
    currentState: (roomId) => roomserver.currentState(roomId),
    getEvents: (eventIds) => roomserver.store.getEvents(eventIds),
    streamSince: (position, limit) => roomserver.store.streamSince(position, limit),
  };
}

export function visibilitySource(roomserver: Roomserver): VisibilitySource {
  const store = roomserver.store;
  return {
    // One read of the events' state groups, one of the groups (the engine caches them).
    statesAt: async (eventIds) => {
      const events = await store.getEvents(eventIds);
      const groups = new Set<number>();
      for (const e of events.values()) {
        if (e.stateBefore !== null) groups.add(e.stateBefore);
        if (e.stateAfter !== null) groups.add(e.stateAfter);
      }
      const snapshots = await store.state.loadSnapshots([...groups]);
      const out = new Map<string, { before: StateLookup; after: StateLookup }>();
      for (const e of events.values()) {
        const before = e.stateBefore === null ? undefined : snapshots.get(e.stateBefore);
        const after = e.stateAfter === null ? undefined : snapshots.get(e.stateAfter);
        if (before !== undefined && after !== undefined) out.set(e.eventId, { before, after });
      }
      return out;
    },
    contents: async (eventIds) => {
      const out = new Map<string, JsonObject>();
      for (const [id, e] of await store.getEvents(eventIds)) {
        const content = e.pdu["content"];
        if (isJsonObject(content)) out.set(id, content);
      }
      return out;
    },
    getEvent: (eventId) => roomserver.getEvent(eventId),
  };
}
