import type { JsonObject } from "../../core/json.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { decodeBase64 } from "../../core/crypto/base64.ts";
import { signJson } from "../../core/crypto/signing.ts";

export interface OldVerifyKey {
  readonly keyId: string;
  readonly publicKeyBase64: string;
  /** When the key stopped being used (server-server-api "Publishing Keys": `expired_ts`). */
  readonly expiredTs: number;
}

/**
 * Our published signing keys (server-server-api#publishing-keys, definitions/keys.yaml): the active
 * keys under `verify_keys`, retired ones under `old_verify_keys`, signed by every active key.
 */
export class ServerKeyPublisher {
  private cached: { body: JsonObject; refreshAtMs: number } | undefined;

  constructor(
    private readonly serverName: string,
    private readonly keys: readonly SigningKey[],
    private readonly oldKeys: readonly OldVerifyKey[] = [],
    /** How long a published response is valid; Synapse's `key_refresh_interval` defaults to one day. */
    private readonly validityMs = 24 * 60 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (keys.length === 0) throw new Error("a homeserver needs at least one signing key");
  }

  /** The key that signs our events and requests: the first of the signing key file. */
  get signingKey(): SigningKey {
    return this.keys[0] as SigningKey;
  }

  /**
   * One of our own public keys by ID, for checking our own signatures without a fetch: an active
   * key (no expiry), or a retired one with the time it stopped being used.
   */
  verifyKey(keyId: string): { publicKey: Uint8Array; expiredTs: number | undefined } | undefined {
    const active = this.keys.find((k) => k.keyId === keyId);
    if (active !== undefined) return { publicKey: active.publicKey, expiredTs: undefined };
    const old = this.oldKeys.find((k) => k.keyId === keyId);
    const publicKey = old === undefined ? undefined : decodeBase64(old.publicKeyBase64);
    return old === undefined || publicKey === undefined ? undefined : { publicKey, expiredTs: old.expiredTs };
  }

  /** Adds our signatures, by every active key, to an object (as a notary signs what it serves). */
  sign<T extends JsonObject>(object: T): T {
    let signed: T = object;
    for (const key of this.keys) signed = signJson(signed, this.serverName, key);
    return signed;
  }

  /** The signed key response, re-signed when half of its validity has passed (as notaries cache it). */
  response(): JsonObject {
    const now = this.now();
    if (this.cached !== undefined && now < this.cached.refreshAtMs) return this.cached.body;
    const verifyKeys: JsonObject = {};
    for (const key of this.keys) verifyKeys[key.keyId] = { key: key.publicKeyBase64 };
    const oldVerifyKeys: JsonObject = {};
    for (const key of this.oldKeys) oldVerifyKeys[key.keyId] = { key: key.publicKeyBase64, expired_ts: key.expiredTs };
    let body: JsonObject = {
      server_name: this.serverName,
      verify_keys: verifyKeys,
      old_verify_keys: oldVerifyKeys,
      valid_until_ts: now + this.validityMs,
    };
    for (const key of this.keys) body = signJson(body, this.serverName, key);
    this.cached = { body, refreshAtMs: now + this.validityMs / 2 };
    return body;
  }
}
