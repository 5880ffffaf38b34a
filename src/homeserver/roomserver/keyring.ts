// Where the signature check gets servers' public keys (server-server-api#retrieving-server-keys).
// The federation keyring implements KeyRing with fetching and caching; MemoryKeyRing serves our
// own keys and tests.
import type { SigningKey } from "../../core/crypto/ed25519.ts";

export interface KeyRing {
  /**
   * The public key `keyId` of `serverName`, if known and valid until at least
   * `minimumValidUntilTs` (rooms/v5.md: a key must be valid at the event's origin_server_ts);
   * undefined for an unknown or expired key, which the check then skips.
   */
  getVerifyKey(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<Uint8Array | undefined>;
}

interface KnownKey {
  readonly publicKey: Uint8Array;
  readonly validUntilTs: number;
}

export class MemoryKeyRing implements KeyRing {
  readonly #keys = new Map<string, Map<string, KnownKey>>();

  addKey(serverName: string, keyId: string, publicKey: Uint8Array, validUntilTs = Number.MAX_SAFE_INTEGER): void {
    let keys = this.#keys.get(serverName);
    if (keys === undefined) {
      keys = new Map();
      this.#keys.set(serverName, keys);
    }
    keys.set(keyId, { publicKey, validUntilTs });
  }

  addSigningKey(serverName: string, key: SigningKey, validUntilTs?: number): void {
    this.addKey(serverName, key.keyId, key.publicKey, validUntilTs);
  }

  async getVerifyKey(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<Uint8Array | undefined> {
    const key = this.#keys.get(serverName)?.get(keyId);
    if (key === undefined || key.validUntilTs < minimumValidUntilTs) return undefined;
    return key.publicKey;
  }
}
