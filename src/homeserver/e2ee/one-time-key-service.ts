// One-time and fallback keys (modules/end_to_end_encryption.md#one-time-and-fallback-keys):
// uploaded by a device, claimed by others through keys/claim, counted for the device in /sync.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import { OneTimeKeyConflictError } from "../../storage/stores/one-time-keys.ts";
import type { ClaimedKey, ClaimRequest, OneTimeKeyStore } from "../../storage/stores/one-time-keys.ts";
import { parseUploadedKeys } from "./key-objects.ts";

/**
 * The algorithm clients count on seeing (as 0 when the device has none): older clients read a
 * missing count as "unknown" rather than zero, so Synapse always lists it, and so do we.
 */
export const SIGNED_CURVE25519 = "signed_curve25519";

export class OneTimeKeyService {
  readonly #store: OneTimeKeyStore;

  constructor(store: OneTimeKeyStore) {
    this.#store = store;
  }

  /**
   * keys/upload's one_time_keys and fallback_keys. A one-time key ID uploaded again with the same
   * key is no error (a retried request); with another key it is, and nothing is stored.
   */
  async upload(userId: string, deviceId: string, oneTimeKeys: JsonObject | undefined, fallbackKeys: JsonObject | undefined): Promise<void> {
    const otks = oneTimeKeys === undefined ? [] : parseUploadedKeys(oneTimeKeys, "one_time_keys");
    const fallbacks = fallbackKeys === undefined ? [] : parseUploadedKeys(fallbackKeys, "fallback_keys");
    // keys.yaml fallback_keys: "There can only be at most one key per algorithm uploaded".
    const algorithms = new Set<string>();
    for (const k of fallbacks) {
      if (algorithms.has(k.algorithm)) throw new MatrixError("M_INVALID_PARAM", `fallback_keys: more than one ${k.algorithm} key`, 400);
      algorithms.add(k.algorithm);
    }
    try {
      await this.#store.add(userId, deviceId, otks);
    } catch (error) {
      if (error instanceof OneTimeKeyConflictError) {
        throw new MatrixError("M_INVALID_PARAM", `One-time key ${error.algorithm}:${error.keyId} already exists with a different key`, 400);
      }
      throw error;
    }
    await this.#store.setFallbackKeys(userId, deviceId, fallbacks);
  }

  /** device_one_time_keys_count (and keys/upload's one_time_key_counts): unclaimed keys per algorithm. */
  async counts(userId: string, deviceId: string): Promise<Record<string, number>> {
    return { [SIGNED_CURVE25519]: 0, ...(await this.#store.counts(userId, deviceId)) };
  }

  /** device_unused_fallback_key_types: algorithms whose fallback key has not been claimed. */
  unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]> {
    return this.#store.unusedFallbackAlgorithms(userId, deviceId);
  }

  /** Claims a key per (user, device, algorithm) of this server: one-time first, else the fallback key. */
  claim(requests: readonly ClaimRequest[]): Promise<ClaimedKey[]> {
    return this.#store.claim(requests);
  }

  /** The devices are gone: so are their keys. */
  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    return this.#store.deleteDevices(userId, deviceIds);
  }
}
