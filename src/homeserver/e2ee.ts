// End-to-end encryption, the server's side (issue 6), built from its dependencies: the part of the
// composition root that services.ts calls. The server stores and relays keys and messages; it
// never sees plaintext.
//
//   DeviceListService (the device-list stream; hears membership changes from the roomserver's
//     outputs once the membership index has applied them)
//   DeviceKeyService, OneTimeKeyService  <-  CrossSigningService (uia, devices)  <-  KeysService
//   ToDeviceService (devices, notifier), KeyBackupService
// Deleting a device deletes its keys, signatures on them and its pending to-device messages
// (devices.onDevicesDeleted), and is a device-list change.
import type { Logger } from "pino";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { CrossSigningStore } from "../storage/stores/cross-signing.ts";
import { DeviceKeyStore } from "../storage/stores/device-keys.ts";
import { DeviceListStore } from "../storage/stores/device-lists.ts";
import { KeyBackupStore } from "../storage/stores/key-backup.ts";
import { OneTimeKeyStore } from "../storage/stores/one-time-keys.ts";
import { ToDeviceStore } from "../storage/stores/to-device.ts";
import { crossSigningEndpoints } from "./api/client/cross-signing.ts";
import { keyBackupEndpoints } from "./api/client/key-backup.ts";
import { keysEndpoints } from "./api/client/keys.ts";
import { toDeviceEndpoints } from "./api/client/to-device.ts";
import type { DeviceService } from "./devices/device-service.ts";
import { CrossSigningService } from "./e2ee/cross-signing-service.ts";
import { DeviceKeyService } from "./e2ee/device-key-service.ts";
import { DeviceListService, membershipChangesIn, type StreamNotifier } from "./e2ee/device-list-service.ts";
import { KeyBackupService } from "./e2ee/key-backup-service.ts";
import { KeysService, type RemoteKeyQuerier } from "./e2ee/keys-service.ts";
import { OneTimeKeyService } from "./e2ee/one-time-key-service.ts";
import { ToDeviceService, type RemoteToDeviceSender } from "./e2ee/to-device-service.ts";
import type { MembershipIndex } from "./rooms/membership-index.ts";
import type { OutputListener } from "./roomserver/index.ts";
import type { UserInteractiveAuth } from "./users/uia.ts";

export interface E2eeServices {
  readonly toDevice: ToDeviceService;
  readonly deviceLists: DeviceListService;
  readonly oneTimeKeys: OneTimeKeyService;
  readonly deviceKeys: DeviceKeyService;
  readonly crossSigning: CrossSigningService;
  readonly keys: KeysService;
  readonly keyBackups: KeyBackupService;
  readonly endpoints: readonly AnyEndpoint[];
  /** Stops listening and writes what is pending; call before closing the database. */
  close(): Promise<void>;
}

export interface E2eeServicesDeps {
  readonly serverName: string;
  readonly db: Database;
  readonly logger: Logger;
  readonly devices: DeviceService;
  readonly uia: UserInteractiveAuth;
  /** Wakes /sync on the "toDevice" and "deviceLists" streams. */
  readonly notifier: StreamNotifier;
  readonly membershipIndex: Pick<MembershipIndex, "roomsForUser" | "joinedMembers" | "usersSharingRoomWith" | "waitUntil">;
  /** The roomserver's outputs: membership changes feed the device-list stream. */
  readonly roomOutputs: { subscribe(listener: OutputListener): () => void };
  /** Other servers' users' keys (the federation client); without it they are reported as failures. */
  readonly remoteKeys?: RemoteKeyQuerier;
  /** Where to-device messages for other servers go (the federation sender). */
  readonly remoteToDevice?: RemoteToDeviceSender;
}

/** How long a sendToDevice transaction ID is remembered (clients retry within minutes). */
const TO_DEVICE_TXN_LIFETIME_MS = 24 * 60 * 60 * 1000;

export async function createE2eeServices(deps: E2eeServicesDeps): Promise<E2eeServices> {
  const { db, devices, membershipIndex, notifier } = deps;
  const log = deps.logger.child({ component: "e2ee" });
  const onError = (error: unknown, what: string): void => log.error({ err: error }, what);

  const deviceLists = await DeviceListService.create(
    new DeviceListStore(db),
    {
      joinedRooms: async (userId) => (await membershipIndex.roomsForUser(userId, ["join"])).map((r) => r.roomId),
      joinedMembers: (roomId) => membershipIndex.joinedMembers(roomId),
      usersSharingRoomWith: (userId) => membershipIndex.usersSharingRoomWith(userId),
    },
    notifier,
    { onError },
  );
  const deviceKeys = new DeviceKeyService(new DeviceKeyStore(db));
  const oneTimeKeys = new OneTimeKeyService(new OneTimeKeyStore(db));
  const crossSigning = new CrossSigningService(new CrossSigningStore(db), deviceKeys, devices, deps.uia, deviceLists);
  const keys = new KeysService(deps.serverName, deviceKeys, oneTimeKeys, crossSigning, deviceLists, deps.remoteKeys === undefined ? {} : { remote: deps.remoteKeys });
  const toDevice = await ToDeviceService.create(new ToDeviceStore(db), deps.serverName, devices, notifier, {
    ...(deps.remoteToDevice === undefined ? {} : { remote: deps.remoteToDevice }),
    onError,
  });
  const keyBackups = new KeyBackupService(new KeyBackupStore(db));

  devices.onDevicesDeleted(async (userId, deviceIds) => {
    await deviceKeys.deleteDevices(userId, deviceIds);
    await oneTimeKeys.deleteDevices(userId, deviceIds);
    await crossSigning.deleteDevices(userId, deviceIds);
    await toDevice.deleteDevices(userId, deviceIds);
    await deviceLists.keysChanged(userId);
  });

  // A membership change becomes a device-list entry once the index has applied it, so whoever it
  // wakes reads the new memberships.
  const unsubscribe = deps.roomOutputs.subscribe((output) => {
    if (output.kind !== "new_room_event") return;
    const userIds = membershipChangesIn(output.stateDelta);
    if (userIds.length === 0) return;
    membershipIndex
      .waitUntil(output.streamOrdering)
      .then(() => deviceLists.membershipsChanged(output.roomId, userIds))
      .catch((error: unknown) => onError(error, "recording membership changes for device lists"));
  });

  const purgeTimer = setInterval(() => {
    toDevice.forgetTransactionsOlderThan(TO_DEVICE_TXN_LIFETIME_MS).catch((error: unknown) => onError(error, "forgetting old to-device transactions"));
  }, 60 * 60 * 1000);
  purgeTimer.unref();

  return {
    toDevice,
    deviceLists,
    oneTimeKeys,
    deviceKeys,
    crossSigning,
    keys,
    keyBackups,
    endpoints: [...keysEndpoints(keys), ...crossSigningEndpoints(crossSigning), ...toDeviceEndpoints(toDevice), ...keyBackupEndpoints(keyBackups)],
    close: async () => {
      clearInterval(purgeTimer);
      unsubscribe();
      await deviceLists.flush();
    },
  };
}
