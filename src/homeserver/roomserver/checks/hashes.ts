// Check 3 of server-server-api "Checks performed on receipt of a PDU": "Passes hash checks,
// otherwise it is redacted before being processed further" ("Validating hashes and signatures on
// received events": we were given a redacted copy, so we use the redacted copy ourselves).
import { hash } from "node:crypto";
import { decodeBase64 } from "../../../core/crypto/base64.ts";
import { checkContentHash } from "../../../core/events/hashes.ts";
import type { RoomEvent } from "../../../core/events/room-event.ts";
import { isJsonObject } from "../../../core/json.ts";
import { redactedRoomEvent } from "../known-event.ts";
import type { PduBytes } from "./pdu-bytes.ts";

/** checkContentHash (core/events/hashes.ts) over the content hash input PduBytes encoded already. */
function contentHashMatches(bytes: PduBytes): boolean {
  const hashes = bytes.pdu["hashes"];
  if (!isJsonObject(hashes)) return false;
  const claimed = hashes["sha256"];
  if (typeof claimed !== "string") return false;
  const claimedBytes = decodeBase64(claimed);
  if (claimedBytes === undefined) return false;
  return Buffer.compare(claimedBytes, hash("sha256", bytes.contentHashed(), "buffer")) === 0;
}

/** `bytes`, when given, are the event's PDU encoded (checkValidEvent). */
export function checkHashes(event: RoomEvent, bytes?: PduBytes): { readonly event: RoomEvent; readonly redacted: boolean } {
  const matches = bytes !== undefined && bytes.pdu === event.pdu ? contentHashMatches(bytes) : checkContentHash(event.pdu, event.roomVersion);
  if (matches) return { event, redacted: false };
  // The event ID covers the redacted form only, so it stays the same.
  return { event: redactedRoomEvent(event), redacted: true };
}
