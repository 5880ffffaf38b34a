import { decodeBase64, encodeUnpaddedBase64 } from "../crypto/base64.ts";
import { sha256 } from "../crypto/hashes.ts";
import { isJsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { encodeEventJson } from "./event-json.ts";
import { redactEvent } from "./redaction.ts";
import type { Pdu } from "./room-event.ts";

/**
 * The content hash (server-server-api "Calculating the content hash for an event"): SHA-256 of the
 * canonical JSON of the whole event without `unsigned`, `signatures` and `hashes`, as unpadded base64.
 */
export function computeContentHash(pdu: Pdu, version: RoomVersion): string {
  return encodeUnpaddedBase64(contentHashBytes(pdu, version));
}

/**
 * Whether `hashes.sha256` matches the event's content hash (server-server-api "Validating hashes
 * and signatures on received events"). False when the hash is absent or not base64; a mismatch
 * means the event must be processed in its redacted form.
 */
export function checkContentHash(pdu: Pdu, version: RoomVersion): boolean {
  const hashes = pdu["hashes"];
  if (!isJsonObject(hashes)) return false;
  const claimed = hashes["sha256"];
  if (typeof claimed !== "string") return false;
  const claimedBytes = decodeBase64(claimed);
  if (claimedBytes === undefined) return false;
  return Buffer.compare(Buffer.from(claimedBytes), contentHashBytes(pdu, version)) === 0;
}

function contentHashBytes(pdu: Pdu, version: RoomVersion): Buffer {
  const { unsigned: _unsigned, signatures: _signatures, hashes: _hashes, ...covered } = pdu;
  return sha256(encodeEventJson(covered, version));
}

/**
 * The reference hash (server-server-api "Calculating the reference hash for an event"): SHA-256 of
 * the canonical JSON of the redacted event without `signatures` and `unsigned`.
 */
export function computeReferenceHash(pdu: Pdu, version: RoomVersion): Uint8Array {
  const { signatures: _signatures, unsigned: _unsigned, ...essential } = redactEvent(pdu, version);
  return new Uint8Array(sha256(encodeEventJson(essential, version)));
}
