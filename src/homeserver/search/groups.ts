// search.yaml `groups`: the results of a page partitioned by the keys asked for ("a group entry for
// each distinct value of `room_id`", modules/search.md "Groups"), each with its event IDs in the
// order of the results, an integer `order` (the groups in the order their first result came), and
// a `next_batch` for more of that group when the search may have more.
import type { JsonObject } from "../../core/json.ts";
import type { GroupKey } from "./criteria.ts";

export interface GroupedResult {
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
}

export function groupResults(
  results: readonly GroupedResult[],
  keys: readonly GroupKey[],
  nextBatchOf: (key: GroupKey, value: string) => string | undefined,
): JsonObject {
  const groups: JsonObject = {};
  for (const key of keys) {
    const byValue = new Map<string, string[]>();
    for (const result of results) {
      const value = key === "room_id" ? result.roomId : result.sender;
      const ids = byValue.get(value);
      if (ids === undefined) byValue.set(value, [result.eventId]);
      else ids.push(result.eventId);
    }
    const entries: JsonObject = {};
    let order = 0;
    for (const [value, ids] of byValue) {
      const nextBatch = nextBatchOf(key, value);
      entries[value] = { results: ids, order: ++order, ...(nextBatch === undefined ? {} : { next_batch: nextBatch }) };
    }
    groups[key] = entries;
  }
  return groups;
}
