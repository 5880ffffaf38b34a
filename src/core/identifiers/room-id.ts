// Room IDs (appendices#room-ids): `!opaque_id:domain` up to room version 11, and from v12 the
// create event's ID with `!` for its sigil (rooms/v12.md), which has no domain.

import { isEncodedReferenceHash, isLiberalLocalpart, splitSigilIdentifier } from "./common.ts";

/** A string that matches the room ID grammar of some room version. */
export type RoomId = string & { readonly __brand: "RoomId" };

/**
 * The room ID in `s`, or undefined. Accepts `!opaque:server` (localpart of non-surrogate code
 * points but `:` and NUL, non-empty; at most 255 bytes) and `!` followed by the 43-character
 * URL-safe base64 reference hash of a v12 create event.
 */
export function parseRoomId(s: string): RoomId | undefined {
  if (!s.startsWith("!")) return undefined;
  if (!s.includes(":")) return isEncodedReferenceHash(s.slice(1), "url-safe") ? (s as RoomId) : undefined;
  const parts = splitSigilIdentifier(s, "!");
  if (parts === undefined || parts.localpart === "" || !isLiberalLocalpart(parts.localpart)) return undefined;
  return s as RoomId;
}
