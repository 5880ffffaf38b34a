import { createHash } from "node:crypto";

/** SHA-256 of some bytes (the hash of content hashes, reference hashes and v12 room IDs). */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash("sha256").update(data).digest();
}
