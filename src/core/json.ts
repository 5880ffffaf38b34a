// The JSON values Matrix exchanges. Numbers are integers in canonical JSON (appendices#canonical-json);
// events of room versions 1-5 may still carry others, so the type admits any number.
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
