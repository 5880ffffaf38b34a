// Dot-separated property paths (appendices#dot-separated-property-paths), the `key` of push
// conditions: `content.m\.relates_to.rel_type` names `rel_type` in `m.relates_to` in `content`.
// Paths are split by the filters' parseDotPath (event_fields uses the same syntax).
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";

/** The value at a path in an event, through objects only (own properties); undefined when absent. */
export function valueAtPath(event: JsonObject, names: readonly string[]): JsonValue | undefined {
  let value: JsonValue | undefined = event;
  for (const name of names) {
    if (!isJsonObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name];
  }
  return value;
}
