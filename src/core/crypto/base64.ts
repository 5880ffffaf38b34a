// Unpadded Base64 (appendices#unpadded-base64): standard alphabet, and the URL-safe one
// of RFC 4648 §5 used by event IDs from room version 4.

export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64").replace(/=+$/, "");
}

export function encodeUnpaddedBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes standard or URL-safe base64, padded or not (the spec says implementations SHOULD accept
 * padded input too). Returns undefined for anything that is not base64 of whole bytes.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const standard = STANDARD.test(text);
  if (!standard && !URL_SAFE.test(text)) return undefined;
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) return undefined;
  if (bare !== text && text.length % 4 !== 0) return undefined; // padding, where present, must be complete
  return new Uint8Array(Buffer.from(bare, standard ? "base64" : "base64url"));
}
