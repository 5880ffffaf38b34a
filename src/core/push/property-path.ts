// Dot-separated property paths (appendices#dot-separated-property-paths), the `key` of push
// conditions: `content.m\.relates_to.rel_type` names `rel_type` in `m.relates_to` in `content`.
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";

/**
 * The property names of a path. appendices#dot-separated-property-paths: a literal dot or backslash
 * in a name is escaped with a backslash; "other escape sequences are left as-is" (`\x` is a
 * backslash then `x`).
 */
export function parsePropertyPath(path: string): string[] {
  const names: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    if (c === "\\") {
      const following = path[i + 1];
      if (following === "." || following === "\\") {
        current += following;
        i++;
      } else {
        current += c;
      }
    } else if (c === ".") {
      names.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  names.push(current);
  return names;
}

/** The value at a path in an event, through objects only (own properties); undefined when absent. */
export function valueAtPath(event: JsonObject, names: readonly string[]): JsonValue | undefined {
  let value: JsonValue | undefined = event;
  for (const name of names) {
    if (!isJsonObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name];
  }
  return value;
}
