// The signed key objects of end-to-end encryption, checked as the spec describes them
// (modules/end_to_end_encryption.md; definitions/device_keys.yaml, cross_signing_key.yaml,
// one_time_keys.yaml). Pure: no storage.
import { canonicalJson } from "../../core/canonical-json/canonical-json.ts";
import { decodeBase64 } from "../../core/crypto/base64.ts";
import { verifyJsonSignature } from "../../core/crypto/signing.ts";
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { CrossSigningKeyType } from "../../storage/stores/cross-signing.ts";

const ED25519_PUBLIC_KEY_BYTES = 32;

/** The 32-byte ed25519 public key in `keys[keyId]`, if it is one. */
export function ed25519PublicKey(keyObject: JsonObject, keyId: string): Uint8Array | undefined {
  const keys = keyObject["keys"];
  if (!isJsonObject(keys) || !keyId.startsWith("ed25519:")) return undefined;
  const encoded = keys[keyId];
  if (typeof encoded !== "string") return undefined;
  const bytes = decodeBase64(encoded);
  return bytes?.length === ED25519_PUBLIC_KEY_BYTES ? bytes : undefined;
}

/** Whether `signer` signed `object` with the key `keyId` whose public half is `publicKey`. */
export function isSignedBy(object: JsonObject, signer: string, keyId: string, publicKey: Uint8Array): boolean {
  return verifyJsonSignature(object, signer, keyId, publicKey);
}

/** The part of a key object its signatures cover, as canonical JSON: equal means the same key. */
export function signedContent(object: JsonObject): string {
  const { signatures: _signatures, unsigned: _unsigned, ...signed } = object;
  return canonicalJson(signed, { lenientNumbers: true });
}

function stringArray(value: JsonValue | undefined): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function stringMap(value: JsonValue | undefined): value is Record<string, string> {
  return isJsonObject(value) && Object.values(value).every((v) => typeof v === "string");
}

const DEVICE_KEYS_REQUIRED = ["user_id", "device_id", "algorithms", "keys", "signatures"] as const;

/**
 * Checks a device's keys from keys/upload (#uploading-keys): they name the requester's user and
 * device, list algorithms and keys, include the device's ed25519 key, and are signed by it.
 */
export function checkDeviceKeys(deviceKeys: JsonObject, userId: string, deviceId: string): void {
  // definitions/device_keys.yaml requires all five; client-server-api#common-error-codes: missing required
  // keys are M_BAD_JSON (what Complement's "Rejects invalid device keys" expects).
  for (const field of DEVICE_KEYS_REQUIRED) {
    if (deviceKeys[field] === undefined) throw new MatrixError("M_BAD_JSON", `device_keys.${field} is required`, 400);
  }
  if (deviceKeys["user_id"] !== userId) throw new MatrixError("M_INVALID_PARAM", "device_keys.user_id does not match the user logged in", 400);
  if (deviceKeys["device_id"] !== deviceId) throw new MatrixError("M_INVALID_PARAM", "device_keys.device_id does not match the device logged in", 400);
  if (!stringArray(deviceKeys["algorithms"])) throw new MatrixError("M_BAD_JSON", "device_keys.algorithms must be a list of strings", 400);
  if (!stringMap(deviceKeys["keys"])) throw new MatrixError("M_BAD_JSON", "device_keys.keys must map key IDs to strings", 400);
  if (!isJsonObject(deviceKeys["signatures"])) throw new MatrixError("M_BAD_JSON", "device_keys.signatures must be an object", 400);
  const keyId = `ed25519:${deviceId}`;
  const publicKey = ed25519PublicKey(deviceKeys, keyId);
  if (publicKey === undefined) throw new MatrixError("M_INVALID_PARAM", `device_keys.keys must include the device's ${keyId} key`, 400);
  // #uploading-keys: the object "must be signed by that key".
  if (!isSignedBy(deviceKeys, userId, keyId, publicKey)) {
    throw new MatrixError("M_INVALID_SIGNATURE", "device_keys is not signed by the device's ed25519 key", 400);
  }
}

/** `<algorithm>:<key_id>` (keys.yaml one_time_keys) split in two. */
export function splitAlgorithmKeyId(name: string): { algorithm: string; keyId: string } | undefined {
  const colon = name.indexOf(":");
  if (colon <= 0 || colon === name.length - 1) return undefined;
  return { algorithm: name.slice(0, colon), keyId: name.slice(colon + 1) };
}

export interface UploadedKey {
  readonly algorithm: string;
  readonly keyId: string;
  readonly key: JsonObject | string;
}

/**
 * Reads a map of one-time or fallback keys (`<algorithm>:<key_id>` -> key): a string (e.g.
 * curve25519) or a signed key object with `key` and `signatures` (#key-algorithms).
 */
export function parseUploadedKeys(keys: JsonObject, field: string): UploadedKey[] {
  const out: UploadedKey[] = [];
  for (const [name, key] of Object.entries(keys)) {
    const parts = splitAlgorithmKeyId(name);
    if (parts === undefined) throw new MatrixError("M_INVALID_PARAM", `${field}: ${name} is not <algorithm>:<key_id>`, 400);
    if (typeof key === "string") {
      out.push({ ...parts, key });
      continue;
    }
    if (!isJsonObject(key) || typeof key["key"] !== "string" || !isJsonObject(key["signatures"])) {
      throw new MatrixError("M_BAD_JSON", `${field}: ${name} must be a key string or an object with key and signatures`, 400);
    }
    out.push({ ...parts, key });
  }
  return out;
}

export interface CrossSigningKey {
  readonly keyType: CrossSigningKeyType;
  readonly publicKey: string;
  /** "ed25519:" + publicKey */
  readonly keyId: string;
  readonly publicKeyBytes: Uint8Array;
  readonly key: JsonObject;
}

/**
 * Checks a cross-signing key (definitions/cross_signing_key.yaml): the requester's, for the given
 * usage, with exactly one ed25519 key whose ID is `ed25519:` followed by the key itself.
 */
export function parseCrossSigningKey(key: JsonObject, keyType: CrossSigningKeyType, userId: string, field: string): CrossSigningKey {
  if (key["user_id"] !== userId) throw new MatrixError("M_INVALID_PARAM", `${field}.user_id must be the user uploading it`, 400);
  const usage = key["usage"];
  if (!stringArray(usage) || !usage.includes(keyType)) throw new MatrixError("M_INVALID_PARAM", `${field}.usage must include "${keyType}"`, 400);
  const keys = key["keys"];
  if (!stringMap(keys) || Object.keys(keys).length !== 1) throw new MatrixError("M_INVALID_PARAM", `${field}.keys must hold exactly one key`, 400);
  const [keyId, publicKey] = Object.entries(keys)[0] as [string, string];
  if (!keyId.startsWith("ed25519:") || keyId !== `ed25519:${publicKey}`) {
    throw new MatrixError("M_INVALID_PARAM", `${field}.keys must be {"ed25519:<public key>": "<public key>"}`, 400);
  }
  const publicKeyBytes = decodeBase64(publicKey);
  if (publicKeyBytes?.length !== ED25519_PUBLIC_KEY_BYTES) throw new MatrixError("M_INVALID_PARAM", `${field} is not a 32-byte ed25519 key`, 400);
  if (key["signatures"] !== undefined && !isJsonObject(key["signatures"])) throw new MatrixError("M_BAD_JSON", `${field}.signatures must be an object`, 400);
  return { keyType, publicKey, keyId, publicKeyBytes, key };
}

/** A signed object with `signatures` merged in: signer -> key ID -> signature. */
export function withSignatures(object: JsonObject, extra: ReadonlyMap<string, ReadonlyMap<string, string>>): JsonObject {
  if (extra.size === 0) return object;
  const signatures: JsonObject = isJsonObject(object["signatures"]) ? { ...object["signatures"] } : {};
  for (const [signer, byKey] of extra) {
    const existing = signatures[signer];
    const merged: JsonObject = isJsonObject(existing) ? { ...existing } : {};
    for (const [keyId, signature] of byKey) merged[keyId] = signature;
    signatures[signer] = merged;
  }
  return { ...object, signatures };
}
