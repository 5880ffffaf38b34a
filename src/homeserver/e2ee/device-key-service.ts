// Device identity keys (modules/end_to_end_encryption.md#device-keys, #uploading-keys): a device
// uploads its signed keys; the same keys uploaded again change nothing (a retried request), other
// keys replace them. The spec does not forbid a device new keys; Synapse and Dendrite take them,
// and Complement's device-list tests upload them (other users' clients then see the device's new,
// unverified identity).
import type { JsonObject } from "../../core/json.ts";
import type { DeviceKeyStore, StoredDeviceKeys } from "../../storage/stores/device-keys.ts";
import { checkDeviceKeys, signedContent } from "./key-objects.ts";

export class DeviceKeyService {
  readonly #store: DeviceKeyStore;

  constructor(store: DeviceKeyStore) {
    this.#store = store;
  }

  /**
   * Checks and stores the device's keys: "new" (the device had none), "unchanged" (the same keys
   * were stored already) or "replaced" (each but "unchanged" is a device-list change).
   */
  async upload(userId: string, deviceId: string, deviceKeys: JsonObject): Promise<"new" | "unchanged" | "replaced"> {
    checkDeviceKeys(deviceKeys, userId, deviceId);
    const { unsigned: _unsigned, ...keys } = deviceKeys;
    const result = await this.#store.putIfAbsent(userId, deviceId, keys);
    if (result.stored) return "new";
    if (signedContent(result.existing) === signedContent(keys)) return "unchanged";
    await this.#store.replace(userId, deviceId, keys);
    return "replaced";
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
