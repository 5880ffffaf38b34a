import type { RoomEvent } from "../events/room-event.ts";

/**
 * Where state resolution gets its events. The algorithms know no storage: they ask for events in
 * batches and keep what they got in a cache for the length of one resolution.
 */
export interface StateResolutionSource {
  /** The events with these IDs, in one batch. IDs it cannot provide are simply absent from the map. */
  fetchEvents(eventIds: readonly string[]): Promise<Map<string, RoomEvent>>;
  /**
   * Optional: the union of the auth chains of these events (server-server-api "Auth chain"), from
   * an index. Without it, auth chains are computed by walking `authEventIds` through fetchEvents.
   */
  authChain?(eventIds: readonly string[]): Promise<Set<string>>;
  /**
   * Optional: which of these events were rejected. The iterative auth checks do not use a rejected
   * event taken from an event's `auth_events` (rooms/fragments/v2-state-res.md "Iterative auth
   * checks"). Without it, no event counts as rejected.
   */
  rejectedEvents?(eventIds: readonly string[]): Promise<Set<string>>;
}
