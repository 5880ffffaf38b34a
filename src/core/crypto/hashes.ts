import { createHash } from "node:crypto";

/** SHA-256 of some bytes (the hash of content hashes, reference hashes and v12 room IDs). */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash("sha256").update(data).digest();
}

/** SHA-1 of some bytes (the tie-break of the original state resolution, rooms/v1.md). */
export function sha1(data: Uint8Array | string): Buffer {
  return createHash("sha1").update(data).digest();
}
