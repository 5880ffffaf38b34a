// sync_filter.yaml `event_fields`: keep only the listed fields, each a dot-separated path
// (appendices#dot-separated-property-paths). "A server may include more fields than were
// requested", so a path that does not lead to a value is simply skipped.
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";

/**
 * Splits a dot-separated path into property names. appendices#dot-separated-property-paths: `\.`
 * is a literal dot and `\\` a literal backslash; any other `\x` stays as written (a backslash and
 * `x`), as does a trailing lone backslash.
 */
export function parseDotPath(path: string): string[] {
  const names: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    const next = path[i + 1];
    if (c === "\\" && (next === "." || next === "\\")) {
      current += next;
      i++;
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

// Defined rather than assigned, so a property named `__proto__` stays a plain property.
function setOwn(target: JsonObject, name: string, value: JsonValue): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

// The value at the path, or undefined when the path does not lead to one.
function valueAt(event: JsonObject, names: readonly string[]): JsonValue | undefined {
  let value: JsonValue = event;
  for (const name of names) {
    if (!isJsonObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name] as JsonValue;
  }
  return value;
}

/**
 * The event reduced to the fields the paths name, nested objects kept as far as the paths go.
 * Paths through something other than an object (an array, a string) lead nowhere. The result
 * shares nothing with the event, which is not changed.
 */
export function applyEventFields(event: JsonObject, fields: readonly string[]): JsonObject {
  const projected: JsonObject = {};
  for (const field of fields) {
    const names = parseDotPath(field);
    const value = valueAt(event, names);
    if (value === undefined) continue;
    let target = projected;
    for (const name of names.slice(0, -1)) {
      const existing = Object.hasOwn(target, name) ? target[name] : undefined;
      // An earlier, shorter path may have copied this whole object already: writing into the copy
      // again changes nothing.
      if (!isJsonObject(existing)) setOwn(target, name, {});
      target = target[name] as JsonObject;
    }
    setOwn(target, names[names.length - 1] as string, structuredClone(value));
  }
  return projected;
}
