// Device identity keys (modules/end_to_end_encryption.md#device-keys, #uploading-keys): a device
// uploads its signed keys once; they never change afterwards (a new identity is a new device),
// and the same keys uploaded again are accepted, so a retried request succeeds.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { DeviceKeyStore, StoredDeviceKeys } from "../../storage/stores/device-keys.ts";
import { checkDeviceKeys, signedContent } from "./key-objects.ts";

export class DeviceKeyService {
  readonly #store: DeviceKeyStore;

  constructor(store: DeviceKeyStore) {
    this.#store = store;
  }

  /**
   * Checks and stores the device's keys; true when they are new (a device-list change), false when
   * the same keys were stored already. Other keys for a device that has some are refused.
   */
  async upload(userId: string, deviceId: string, deviceKeys: JsonObject): Promise<boolean> {
    checkDeviceKeys(deviceKeys, userId, deviceId);
    const { unsigned: _unsigned, ...keys } = deviceKeys;
    const result = await this.#store.putIfAbsent(userId, deviceId, keys);
    if (result.stored) return true;
    if (signedContent(result.existing) !== signedContent(keys)) {
      throw new MatrixError("M_INVALID_PARAM", "This device has uploaded other identity keys already; they cannot change", 400);
    }
    return false;
  }

  /** The stored keys of one device. */
  get(userId: string, deviceId: string): Promise<JsonObject | undefined> {
    return this.#store.get(userId, deviceId);
  }

  /** The keys of the users' devices (every device when a user's list is empty). */
  forUsers(query: ReadonlyMap<string, readonly string[]>): Promise<StoredDeviceKeys[]> {
    return this.#store.forUsers(query);
  }

  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    return this.#store.deleteDevices(userId, deviceIds);
  }
}
