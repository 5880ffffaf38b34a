import { canonicalJsonBytes } from "../canonical-json/canonical-json.ts";
import type { JsonObject } from "../json.ts";
import { isJsonObject } from "../json.ts";
import { decodeBase64, encodeUnpaddedBase64 } from "./base64.ts";
import { signBytes, verifyBytes } from "./ed25519.ts";
import type { SigningKey } from "./ed25519.ts";

// Signing JSON (appendices#signing-json, "Signing Details" and "Checking for a Signature").

export interface SigningOptions {
  /** Room versions 1-5 may carry floats and out-of-range integers (rooms/fragments/v1-canonical-json.md). */
  lenientNumbers?: boolean;
}

function ownObject(object: JsonObject, key: string): JsonObject | undefined {
  if (!Object.hasOwn(object, key)) return undefined;
  const value = object[key];
  return isJsonObject(value) ? value : undefined;
}

/**
 * The bytes a signature covers: the canonical JSON of the object without `signatures` and
 * `unsigned` (appendices#signing-details). Throws CanonicalJsonError for numbers canonical JSON
 * forbids (unless lenient).
 */
export function signableBytes(object: JsonObject, options: SigningOptions = {}): Buffer {
  const { signatures: _signatures, unsigned: _unsigned, ...signed } = object;
  return canonicalJsonBytes(signed, options);
}

/**
 * Returns a new object with `signatures[signingName][key.keyId]` added; other signatures and
 * `unsigned` are kept as they were (appendices#signing-details).
 */
export function signJson<T extends JsonObject>(
  object: T,
  signingName: string,
  key: SigningKey,
  options: SigningOptions = {},
): T & { signatures: JsonObject } {
  let existing: JsonObject = {};
  if (Object.hasOwn(object, "signatures")) {
    const value = object["signatures"];
    if (!isJsonObject(value)) throw new TypeError("cannot sign: the object's `signatures` is not an object");
    existing = value;
  }
  let forName: JsonObject = {};
  if (Object.hasOwn(existing, signingName)) {
    const value = existing[signingName];
    if (!isJsonObject(value)) {
      throw new TypeError(`cannot sign: signatures[${JSON.stringify(signingName)}] is not an object`);
    }
    forName = value;
  }
  const signature = encodeUnpaddedBase64(signBytes(key, signableBytes(object, options)));
  // The spread keeps every member of T and only replaces `signatures`.
  return {
    ...object,
    signatures: { ...existing, [signingName]: { ...forName, [key.keyId]: signature } },
  } as T & { signatures: JsonObject };
}

/**
 * Checks that `signingName` signed the object with the key `keyId` whose public half is given
 * (appendices#checking-for-a-signature). False when the signature is missing, malformed or wrong,
 * when the algorithm is not ed25519, or when the object cannot be canonically encoded; never throws.
 */
export function verifyJsonSignature(
  object: JsonObject,
  signingName: string,
  keyId: string,
  publicKey: Uint8Array,
  options: SigningOptions = {},
): boolean {
  // Step 2: only algorithms we understand count.
  if (!keyId.startsWith("ed25519:")) return false;
  const signatures = ownObject(object, "signatures");
  if (signatures === undefined) return false;
  const forName = ownObject(signatures, signingName);
  if (forName === undefined || !Object.hasOwn(forName, keyId)) return false;
  const encoded = forName[keyId];
  if (typeof encoded !== "string") return false;
  const signature = decodeBase64(encoded);
  if (signature === undefined) return false;
  let bytes: Buffer;
  try {
    bytes = signableBytes(object, options);
  } catch {
    return false;
  }
  return verifyBytes(publicKey, bytes, signature);
}

/**
 * The signatures an object carries: signing name -> key ID -> base64 signature. Entries that are
 * not an object of strings are skipped, so callers only see well-formed candidates.
 */
export function signaturesOf(object: JsonObject): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>();
  const signatures = ownObject(object, "signatures");
  if (signatures === undefined) return result;
  for (const [signingName, entry] of Object.entries(signatures)) {
    if (!isJsonObject(entry)) continue;
    const byKeyId = new Map<string, string>();
    for (const [keyId, signature] of Object.entries(entry)) {
      if (typeof signature === "string") byKeyId.set(keyId, signature);
    }
    if (byKeyId.size > 0) result.set(signingName, byKeyId);
  }
  return result;
}
