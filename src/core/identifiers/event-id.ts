// Event IDs (appendices#event-ids): `$opaque_id:domain` in room versions 1-2
// (rooms/fragments/v1-event-ids.md), `$` + the reference hash in unpadded base64 in v3
// (rooms/v3.md#event-ids) and in URL-safe unpadded base64 from v4 (rooms/fragments/v4-event-ids.md).

import type { EventIdFormat } from "../room-versions/room-versions.ts";
import { isEncodedReferenceHash, isLiberalLocalpart, splitSigilIdentifier } from "./common.ts";

/** A string that matches the event ID grammar of some room version. */
export type EventId = string & { readonly __brand: "EventId" };

function isV1EventId(s: string): boolean {
  const parts = splitSigilIdentifier(s, "$");
  return parts !== undefined && parts.localpart !== "" && isLiberalLocalpart(parts.localpart);
}

/**
 * The event ID in `s`, or undefined. Without `format`, any of the three forms is accepted;
 * with it (a room version's `eventIdFormat`), only that one. The v1 opaque part follows the
 * localpart rule of room IDs (non-empty, no `:` or NUL); the whole ID is at most 255 bytes.
 */
export function parseEventId(s: string, format?: EventIdFormat): EventId | undefined {
  if (!s.startsWith("$")) return undefined;
  const hash = s.slice(1);
  let ok: boolean;
  switch (format) {
    case "v1":
      ok = isV1EventId(s);
      break;
    case "v3":
      ok = isEncodedReferenceHash(hash, "standard");
      break;
    case "v4":
      ok = isEncodedReferenceHash(hash, "url-safe");
      break;
    case undefined:
      ok = s.includes(":")
        ? isV1EventId(s)
        : isEncodedReferenceHash(hash, "standard") || isEncodedReferenceHash(hash, "url-safe");
      break;
  }
  return ok ? (s as EventId) : undefined;
}
