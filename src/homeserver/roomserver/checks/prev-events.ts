// The room's event graph must stay a DAG (server-server-api#pdus: prev_events "establish a partial
// ordering on events within the room by linking them into a Directed Acyclic Graph"). An event is
// normally stored after its prev_events, so it cannot close a cycle; only an event that some
// stored event already cites (it came after its child, possible with room versions 1-2 whose event
// IDs are chosen by their sender) could, and for those we look for its prev_events among its
// descendants.

/** The most descendants walked before the event is refused as unverifiable. */
export const MAX_DESCENDANTS_WALKED = 10_000;

/**
 * Undefined when no cycle would form; otherwise the reason to refuse. `childrenOf` answers which
 * events cite each of the given IDs as a prev_event.
 */
export async function checkNoPrevEventsCycle(
  eventId: string,
  prevEventIds: readonly string[],
  childrenOf: (eventIds: readonly string[]) => Promise<Map<string, string[]>>,
): Promise<string | undefined> {
  const prevs = new Set(prevEventIds);
  const seen = new Set<string>([eventId]);
  let frontier = [eventId];
  while (frontier.length > 0) {
    const children = await childrenOf(frontier);
    const next: string[] = [];
    for (const list of children.values()) {
      for (const child of list) {
        if (prevs.has(child)) return `prev_events would make a cycle: ${child} descends from ${eventId}`;
        if (seen.has(child)) continue;
        seen.add(child);
        next.push(child);
      }
    }
    if (seen.size > MAX_DESCENDANTS_WALKED) return "the event arrived after too many of its descendants to check for prev_events cycles";
    frontier = next;
  }
  return undefined;
}
