// The media a room's events refer to (Synapse's admin API lists them and quarantines them): every
// stored event of the room is read, so this is for an admin's request, not for a hot path.
import { mediaReferencesOf } from "../../core/events/media-references.ts";
import { isJsonObject } from "../../core/json.ts";
import type { Roomserver } from "../roomserver/index.ts";

/** The mxc:// URIs the room's stored events refer to, each once; undefined for a room not stored here. */
export async function mediaOfRoom(roomserver: Pick<Roomserver, "roomVersion" | "store">, roomId: string): Promise<string[] | undefined> {
  if ((await roomserver.roomVersion(roomId)) === undefined) return undefined;
  const found = new Set<string>();
  for (const event of await roomserver.store.roomEvents(roomId)) {
    const content = event.pdu["content"];
    if (isJsonObject(content)) for (const uri of mediaReferencesOf(content)) found.add(uri);
  }
  return [...found];
}
