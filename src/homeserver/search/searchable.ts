// What of a room event the search finds (modules/search.md "room_events"): `content.body` of an
// m.room.message, `content.name` of an m.room.name, and of an m.room.topic `content.topic` "as well
// as the `body` of the `text/plain` representation in `content['m.topic']`". Other events (an
// m.room.encrypted among them: "The search will not include rooms that are end to end encrypted")
// have nothing to search.
import type { RoomEvent } from "../../core/events/room-event.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { SearchEntry, SearchKey } from "../../storage/stores/search.ts";

/** search.yaml `keys` "Defaults to all". */
export const SEARCH_KEYS: readonly SearchKey[] = ["content.body", "content.name", "content.topic"];

/** The event type each key is searched in. */
export const KEY_EVENT_TYPES: Readonly<Record<SearchKey, string>> = {
  "content.body": "m.room.message",
  "content.name": "m.room.name",
  "content.topic": "m.room.topic",
};

/** The types whose events may have searchable text. */
export const INDEXED_TYPES: ReadonlySet<string> = new Set(Object.values(KEY_EVENT_TYPES));

/** The index entry of an event at a stream position, or undefined when it has nothing to search. */
export function searchEntryOf(event: RoomEvent, streamOrdering: number): SearchEntry | undefined {
  const found = searchableText(event);
  if (found === undefined) return undefined;
  return {
    eventId: event.eventId,
    roomId: event.roomId,
    sender: event.sender,
    key: found.key,
    value: found.value,
    // room_event_filter.yaml `contains_url`: "events with a `url` key in their content".
    containsUrl: Object.hasOwn(event.content, "url"),
    streamOrdering,
    originServerTs: event.originServerTs,
  };
}

function searchableText(event: RoomEvent): { key: SearchKey; value: string } | undefined {
  const { content } = event;
  let key: SearchKey;
  let texts: string[];
  if (event.type === "m.room.message" && event.stateKey === undefined) {
    key = "content.body";
    texts = [stringOf(content["body"])];
  } else if (event.type === "m.room.name" && event.stateKey === "") {
    key = "content.name";
    texts = [stringOf(content["name"])];
  } else if (event.type === "m.room.topic" && event.stateKey === "") {
    key = "content.topic";
    texts = [stringOf(content["topic"]), ...plainTopics(content)];
  } else {
    return undefined;
  }
  const value = [...new Set(texts.map((t) => t.trim()).filter((t) => t !== ""))].join("\n");
  return value === "" ? undefined : { key, value };
}

// m.room.topic `m.topic`: a TextContentBlock, whose items' mimetype "Defaults to `text/plain` if omitted".
function plainTopics(content: JsonObject): string[] {
  const block = content["m.topic"];
  const items = isJsonObject(block) ? block["m.text"] : undefined;
  if (!Array.isArray(items)) return [];
  return items.flatMap((item) => {
    if (!isJsonObject(item)) return [];
    const mimetype = item["mimetype"] ?? "text/plain";
    return mimetype === "text/plain" ? [stringOf(item["body"])] : [];
  });
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}
