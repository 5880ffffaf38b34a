import { CanonicalJsonError, canonicalJsonBytes } from "../canonical-json/canonical-json.ts";
import type { CanonicalJsonOptions } from "../canonical-json/canonical-json.ts";
import type { JsonValue } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { EventFormatError } from "./event-format-error.ts";

/**
 * The canonical JSON rules of a room version: v1-v5 events may hold floats and out-of-range
 * integers (rooms/fragments/v1-canonical-json.md), v6+ may not (rooms/fragments/v6-canonical-json.md).
 */
export function eventJsonOptions(version: RoomVersion): CanonicalJsonOptions {
  return { lenientNumbers: !version.strictCanonicalJson };
}

/**
 * How deeply event JSON may nest. The spec sets no limit; ours keeps the recursive canonical
 * encoder well inside the call stack (a 64 KiB event could otherwise nest ~32000 deep).
 */
export const MAX_EVENT_JSON_NESTING = 512;

/** Whether a JSON value nests no deeper than `max` arrays/objects (checked without recursion). */
export function isNestingWithin(value: JsonValue, max: number = MAX_EVENT_JSON_NESTING): boolean {
  const stack: Array<[JsonValue, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [JsonValue, number];
    if (typeof v !== "object" || v === null) continue;
    if (depth + 1 > max) return false;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return true;
}

/**
 * Canonical JSON bytes of (part of) an event under its room version's number rules. Anything that
 * cannot be encoded is a malformed event, reported as EventFormatError rather than a bare error.
 */
export function encodeEventJson(value: JsonValue, version: RoomVersion): Buffer {
  if (!isNestingWithin(value)) {
    throw new EventFormatError("too_deeply_nested", `event JSON nests deeper than ${MAX_EVENT_JSON_NESTING}`);
  }
  try {
    return canonicalJsonBytes(value, eventJsonOptions(version));
  } catch (err) {
    if (err instanceof CanonicalJsonError) {
      throw new EventFormatError("not_canonical_json", `room version ${version.id}: ${err.message}`);
    }
    throw err;
  }
}
