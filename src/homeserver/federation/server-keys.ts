import type { JsonObject } from "../../core/json.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
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
