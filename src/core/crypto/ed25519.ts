import { createPrivateKey, createPublicKey, randomBytes, randomInt, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { decodeBase64, encodeUnpaddedBase64 } from "./base64.ts";
import { rememberRecent } from "../recent-map.ts";

// Ed25519 signing keys, as Matrix names them (appendices#signing-details: the key ID is
// "ed25519:<version>"), built on Node's own crypto.

export const ED25519 = "ed25519";

/** A server's signing key: the 32-byte seed and the public key derived from it. */
export interface SigningKey {
  readonly algorithm: "ed25519";
  /** The key identifier's version part; server-server-api keys.yaml: characters `[a-zA-Z0-9_]`. */
  readonly version: string;
  /** "ed25519:<version>", the signing key identifier. */
  readonly keyId: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The public key in unpadded standard base64, as published in `verify_keys`. */
  readonly publicKeyBase64: string;
}

const SEED_LENGTH = 32;
const PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

// DER headers of the PKCS#8 and SPKI wrappings of a raw Ed25519 key (RFC 8410), so a raw seed or
// public key can be imported without JWK string round trips.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

// keys.yaml: "The version must have characters matching the regular expression [a-zA-Z0-9_]".
const VERSION = /^[a-zA-Z0-9_]+$/;

// The imported private KeyObject of each key record, so signing twice does not import twice.
// A WeakMap keeps the record a plain frozen object and also serves records built elsewhere.
const privateKeys = new WeakMap<SigningKey, KeyObject>();

function privateKeyOf(key: SigningKey): KeyObject {
  let keyObject = privateKeys.get(key);
  if (keyObject === undefined) {
    keyObject = importSeed(key.seed);
    privateKeys.set(key, keyObject);
  }
  return keyObject;
}

function importSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** Whether a string may be the version part of a key identifier. */
export function isValidKeyVersion(version: string): boolean {
  return VERSION.test(version);
}

/** Builds the signing key whose private half is the given 32-byte seed. */
export function signingKeyFromSeed(seed: Uint8Array, version: string): SigningKey {
  if (seed.byteLength !== SEED_LENGTH) {
    throw new Error(`an ed25519 seed is ${SEED_LENGTH} bytes, not ${seed.byteLength}`);
  }
  if (!isValidKeyVersion(version)) {
    throw new Error(`key version ${JSON.stringify(version)} must be made of the characters [a-zA-Z0-9_]`);
  }
  const seedCopy = new Uint8Array(seed);
  const privateKey = importSeed(seedCopy);
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_LENGTH));
  const key: SigningKey = Object.freeze({
    algorithm: ED25519,
    version,
    keyId: `${ED25519}:${version}`,
    seed: seedCopy,
    publicKey,
    publicKeyBase64: encodeUnpaddedBase64(publicKey),
  });
  privateKeys.set(key, privateKey);
  return key;
}

const VERSION_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A fresh random key; its default version is "a_" and 4 random alphanumerics, as Synapse names them. */
export function generateSigningKey(version?: string): SigningKey {
  let chosen = version;
  if (chosen === undefined) {
    chosen = "a_";
    for (let i = 0; i < 4; i++) chosen += VERSION_ALPHABET[randomInt(VERSION_ALPHABET.length)];
  }
  return signingKeyFromSeed(randomBytes(SEED_LENGTH), chosen);
}

/**
 * Reads the signing key file format Synapse uses (signing.key): one key a line,
 * `ed25519 <version> <unpadded base64 seed>`. Blank lines are skipped; anything else malformed throws.
 */
export function parseSigningKeyFile(text: string): SigningKey[] {
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "") continue;
    const where = `signing key file, line ${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 3) {
      throw new Error(`${where}: expected "ed25519 <version> <base64 seed>", found ${fields.length} fields`);
    }
    const [algorithm, version, seedBase64] = fields as [string, string, string];
    if (algorithm !== ED25519) {
      throw new Error(`${where}: unsupported key algorithm ${JSON.stringify(algorithm)} (only ed25519)`);
    }
    if (!isValidKeyVersion(version)) {
      throw new Error(`${where}: key version ${JSON.stringify(version)} must be made of the characters [a-zA-Z0-9_]`);
    }
    const seed = decodeBase64(seedBase64);
    if (seed === undefined) throw new Error(`${where}: the seed is not valid base64`);
    if (seed.byteLength !== SEED_LENGTH) {
      throw new Error(`${where}: the seed is ${seed.byteLength} bytes, an ed25519 seed is ${SEED_LENGTH}`);
    }
    if (seen.has(version)) throw new Error(`${where}: key version ${JSON.stringify(version)} appears twice`);
    seen.add(version);
    keys.push(signingKeyFromSeed(seed, version));
  }
  return keys;
}

/** Writes keys in the signing.key format, each line ending in a newline as Synapse writes them. */
export function formatSigningKeyFile(keys: readonly SigningKey[]): string {
  return keys.map((k) => `${k.algorithm} ${k.version} ${encodeUnpaddedBase64(k.seed)}\n`).join("");
}

/** Signs bytes with the key: a 64-byte Ed25519 signature. */
export function signBytes(key: SigningKey, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, data, privateKeyOf(key)));
}

// Imported public keys by their bytes, so checking many signatures of one server imports its key once.
// Bounded and least-recently-used first out, since keys come from the network.
const PUBLIC_KEY_CACHE_SIZE = 1024;
const publicKeyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("latin1");
  const keyObject = publicKeyCache.get(id) ?? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  rememberRecent(publicKeyCache, id, keyObject, PUBLIC_KEY_CACHE_SIZE);
  return keyObject;
}

/** Checks an Ed25519 signature; false (never an exception) for wrong sizes, bad keys or a bad signature. */
export function verifyBytes(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(data instanceof Uint8Array)) {
    return false;
  }
  if (publicKey.byteLength !== PUBLIC_KEY_LENGTH || signature.byteLength !== SIGNATURE_LENGTH) return false;
  try {
    return verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
