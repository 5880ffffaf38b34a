// The media an event's content refers to, as Synapse's admin API finds a room's media: an
// attachment's `url` and its thumbnail's `info.thumbnail_url`, and in encrypted rooms the same in
// `file.url` and `info.thumbnail_file.url` (modules/end_to_end_encryption.md "Sending encrypted
// attachments").
import { parseMxcUri } from "../identifiers/mxc.ts";
import { isJsonObject } from "../json.ts";
import type { JsonObject, JsonValue } from "../json.ts";

/** The mxc:// URIs the content names, each once, in the order above; malformed ones are left out. */
export function mediaReferencesOf(content: JsonObject): string[] {
  const info = isJsonObject(content["info"]) ? content["info"] : {};
  const file = isJsonObject(content["file"]) ? content["file"] : {};
  const thumbnailFile = isJsonObject(info["thumbnail_file"]) ? info["thumbnail_file"] : {};
  const found = new Set<string>();
  for (const value of [content["url"], info["thumbnail_url"], file["url"], thumbnailFile["url"]] as JsonValue[]) {
    if (typeof value === "string" && parseMxcUri(value) !== undefined) found.add(value);
  }
  return [...found];
}
