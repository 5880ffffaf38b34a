// State resolution (server-server-api.md "Room State Resolution"): the state before an event is the
// resolution of the states after its prev_events. The algorithm depends on the room version.
import type { StateMap } from "../events/room-event.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import type { StateResolutionSource } from "./source.ts";
import { resolveV1 } from "./v1.ts";
import { resolveV2 } from "./v2.ts";

export type { StateResolutionSource } from "./source.ts";

/**
 * Resolves state sets into one state map by the room version's algorithm: rooms/v1.md (v1),
 * rooms/fragments/v2-state-res.md (v2), rooms/v12.md (v2.1). Events the source cannot provide drop
 * out of consideration. The result does not depend on the order of the state sets, of their
 * entries, or of the source's answers. The input maps are never modified.
 */
export async function resolveState(
  stateSets: readonly StateMap[],
  version: RoomVersion,
  source: StateResolutionSource,
): Promise<StateMap> {
  if (stateSets.length === 0) return new Map();
  if (stateSets.length === 1) return new Map(stateSets[0]);
  switch (version.stateRes) {
    case "v1":
      return resolveV1(stateSets, version, source);
    case "v2":
      return resolveV2(stateSets, version, source, { v21: false });
    case "v2.1":
      return resolveV2(stateSets, version, source, { v21: true });
  }
}
