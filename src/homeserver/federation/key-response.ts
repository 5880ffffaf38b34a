// Checking a server keys response (server-server-api#get_matrixkeyv2server, definitions/keys.yaml)
// before any of its keys is trusted: its shape, whose keys they are, and its signatures.
import { decodeBase64 } from "../../core/crypto/base64.ts";
import { signaturesOf, verifyJsonSignature } from "../../core/crypto/signing.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { TrustedKeyServer } from "../../config/index.ts";

/** A key a response publishes. */
export interface PublishedKey {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly publicKeyBase64: string;
  /** Set for a key of `old_verify_keys`. */
  readonly expiredTs: number | undefined;
}

export interface ServerKeysResponse {
  readonly serverName: string;
  readonly validUntilTs: number;
  readonly keys: readonly PublishedKey[];
  readonly json: JsonObject;
}

/** A key response that cannot be trusted, and why. */
export class KeyResponseError extends Error {
  override name = "KeyResponseError";
}

// keys.yaml: a key ID is the algorithm and a version of [a-zA-Z0-9_]; Weft verifies ed25519 only.
const ED25519_KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;
const ED25519_PUBLIC_KEY_BYTES = 32;

function readKeys(json: JsonObject, field: "verify_keys" | "old_verify_keys"): PublishedKey[] {
  const entries = json[field];
  if (entries === undefined && field === "old_verify_keys") return [];
  if (!isJsonObject(entries)) throw new KeyResponseError(`${field} is not an object`);
  const keys: PublishedKey[] = [];
  for (const [keyId, entry] of Object.entries(entries)) {
    // Keys of algorithms we do not know cannot verify anything here; they are skipped, not fatal.
    if (!ED25519_KEY_ID.test(keyId)) continue;
    if (!isJsonObject(entry) || typeof entry["key"] !== "string") throw new KeyResponseError(`${field}.${keyId} has no key`);
    const publicKey = decodeBase64(entry["key"]);
    if (publicKey?.length !== ED25519_PUBLIC_KEY_BYTES) throw new KeyResponseError(`${field}.${keyId} is not an ed25519 public key`);
    let expiredTs: number | undefined;
    if (field === "old_verify_keys") {
      const expired = entry["expired_ts"];
      if (typeof expired !== "number" || !Number.isSafeInteger(expired)) throw new KeyResponseError(`${field}.${keyId} has no expired_ts`);
      expiredTs = expired;
    }
    keys.push({ keyId, publicKey, publicKeyBase64: entry["key"], expiredTs });
  }
  return keys;
}

/**
 * Checks a key response claimed to be `serverName`'s: the required fields, `server_name` equal to
 * the server asked about, and a valid self-signature by at least one of its `verify_keys` (and
 * no invalid one), so a notary or a man in the middle cannot substitute keys.
 */
export function checkServerKeysResponse(value: JsonValue, serverName: string): ServerKeysResponse {
  if (!isJsonObject(value)) throw new KeyResponseError("the key response is not an object");
  if (value["server_name"] !== serverName) {
    throw new KeyResponseError(`the key response is for ${JSON.stringify(value["server_name"])}, not ${serverName}`);
  }
  const validUntilTs = value["valid_until_ts"];
  if (typeof validUntilTs !== "number" || !Number.isSafeInteger(validUntilTs)) throw new KeyResponseError("valid_until_ts is missing");
  const verifyKeys = readKeys(value, "verify_keys");
  const oldKeys = readKeys(value, "old_verify_keys").filter((old) => !verifyKeys.some((k) => k.keyId === old.keyId));
  const selfSigned = signaturesOf(value).get(serverName);
  let verified = 0;
  for (const key of verifyKeys) {
    if (selfSigned?.has(key.keyId) !== true) continue;
    if (!verifyJsonSignature(value, serverName, key.keyId, key.publicKey)) {
      throw new KeyResponseError(`the signature of ${serverName} with ${key.keyId} is invalid`);
    }
    verified++;
  }
  if (verified === 0) throw new KeyResponseError(`the key response is not signed by ${serverName} with one of its verify_keys`);
  return { serverName, validUntilTs, keys: [...verifyKeys, ...oldKeys], json: value };
}

/**
 * Whether a notary's copy of a response carries the notary's signature by one of the keys its
 * `trusted_key_servers` entry configures; `accept_keys_insecurely` without keys skips the check.
 */
export function isSignedByNotary(json: JsonObject, notary: TrustedKeyServer): boolean {
  const verifyKeys = notary.verifyKeys ?? {};
  if (Object.keys(verifyKeys).length === 0) return notary.acceptKeysInsecurely;
  for (const [keyId, base64] of Object.entries(verifyKeys)) {
    const publicKey = decodeBase64(base64);
    if (publicKey !== undefined && verifyJsonSignature(json, notary.serverName, keyId, publicKey)) return true;
  }
  return false;
}
