// Reading an event's relation (client-server-api#forming-relationships-between-events): the
// cleartext `content.m.relates_to` with a `rel_type` and an `event_id` (definitions/m.relates_to.yaml).
// "Relationships which don't match the schema ... are simply ignored."
import { isJsonObject, type JsonObject } from "../../../core/json.ts";

export interface Relation {
  readonly relType: string;
  readonly eventId: string;
  /** m.annotation's key (modules/event_annotations.md). */
  readonly key: string | undefined;
}

export const REL_REPLACE = "m.replace";
export const REL_ANNOTATION = "m.annotation";
export const REL_THREAD = "m.thread";
export const REL_REFERENCE = "m.reference";

/** The relation an event's content declares, or undefined (a rich reply alone has no rel_type). */
export function relationOf(content: JsonObject): Relation | undefined {
  const relatesTo = content["m.relates_to"];
  if (!isJsonObject(relatesTo)) return undefined;
  const relType = relatesTo["rel_type"];
  const eventId = relatesTo["event_id"];
  if (typeof relType !== "string" || relType === "" || typeof eventId !== "string" || !eventId.startsWith("$")) return undefined;
  const key = relatesTo["key"];
  return { relType, eventId, key: typeof key === "string" ? key : undefined };
}
