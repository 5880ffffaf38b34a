// Check 3 of server-server-api "Checks performed on receipt of a PDU": "Passes hash checks,
// otherwise it is redacted before being processed further" ("Validating hashes and signatures on
// received events": we were given a redacted copy, so we use the redacted copy ourselves).
import { checkContentHash } from "../../../core/events/hashes.ts";
import type { RoomEvent } from "../../../core/events/room-event.ts";
import { redactedRoomEvent } from "../known-event.ts";

export function checkHashes(event: RoomEvent): { readonly event: RoomEvent; readonly redacted: boolean } {
  if (checkContentHash(event.pdu, event.roomVersion)) return { event, redacted: false };
  // The event ID covers the redacted form only, so it stays the same.
  return { event: redactedRoomEvent(event), redacted: true };
}
