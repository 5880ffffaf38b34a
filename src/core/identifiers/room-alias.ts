// Room aliases (appendices#room-aliases): `#room_alias:domain`.

import { isLiberalLocalpart, splitSigilIdentifier } from "./common.ts";

/** A string that matches the room alias grammar. */
export type RoomAlias = string & { readonly __brand: "RoomAlias" };

/**
 * The room alias in `s`, or undefined. The localpart may hold any non-surrogate code points but
 * `:` and NUL; we also require it to be non-empty, since `#:server` names nothing. At most 255 bytes.
 */
export function parseRoomAlias(s: string): RoomAlias | undefined {
  const parts = splitSigilIdentifier(s, "#");
  if (parts === undefined || parts.localpart === "" || !isLiberalLocalpart(parts.localpart)) return undefined;
  return s as RoomAlias;
}
