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
//
// Over federation (server-server-api#device-management): DeviceListUpdates answers GET
// /user/devices and sends our users' device and signing-key changes to the servers sharing a room
// with them; RemoteDeviceLists caches other servers' users' lists from their EDUs and answers
// keys/query for them from that cache.
import type { Logger } from "pino";
import { serverNameOf } from "../core/identifiers/index.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { CrossSigningStore } from "../storage/stores/cross-signing.ts";
import { DeviceKeyStore } from "../storage/stores/device-keys.ts";
import { DeviceListStore } from "../storage/stores/device-lists.ts";
import { DeviceListFederationStore } from "../storage/stores/device-list-federation.ts";
import { KeyBackupStore } from "../storage/stores/key-backup.ts";
import { OneTimeKeyStore } from "../storage/stores/one-time-keys.ts";
import { ToDeviceStore } from "../storage/stores/to-device.ts";
import { crossSigningEndpoints } from "./api/client/cross-signing.ts";
import { keyBackupEndpoints } from "./api/client/key-backup.ts";
import { keysEndpoints } from "./api/client/keys.ts";
import { toDeviceEndpoints } from "./api/client/to-device.ts";
import { userDevicesEndpoints } from "./api/federation/user-devices.ts";
import { userKeysEndpoints } from "./api/federation/user-keys.ts";
import type { DeviceService } from "./devices/device-service.ts";
import { CrossSigningService } from "./e2ee/cross-signing-service.ts";
import { DeviceKeyService } from "./e2ee/device-key-service.ts";
import { DeviceListUpdates, type OutboundEdu } from "./e2ee/device-list-updates.ts";
import { RemoteDeviceLists, type UserDevicesFetcher } from "./e2ee/remote-device-lists.ts";
import type { EduHandler } from "./federation/edus.ts";
import { deviceListEduHandlers } from "./federation/remote-e2ee.ts";
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
  /** Our users' device lists for other servers, and the updates sent to them. */
  readonly deviceListUpdates: DeviceListUpdates;
  /** Other servers' users' device lists, cached. */
  readonly remoteDeviceLists: RemoteDeviceLists;
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
  readonly membershipIndex: Pick<MembershipIndex, "roomsForUser" | "joinedMembers" | "membershipOf" | "usersSharingRoomWith" | "waitUntil">;
  /** The roomserver's outputs: membership changes feed the device-list stream. */
  readonly roomOutputs: { subscribe(listener: OutputListener): () => void };
  /** Other servers' users' keys (the federation client); without it they are reported as failures. */
  readonly remoteKeys?: RemoteKeyQuerier;
  /** Where to-device messages for other servers go (the federation sender). */
  readonly remoteToDevice?: RemoteToDeviceSender;
  /** Device lists over federation: EDUs out and in, and other servers' GET /user/devices. */
  readonly deviceListFederation?: DeviceListFederation;
  /** Whether other servers see our users' device names (Synapse's allow_device_name_lookup_over_federation; default false). */
  readonly allowDeviceNamesOverFederation?: boolean;
}

/** The federation seams of device lists (federation-rooms.ts and the federation client). */
export interface DeviceListFederation {
  /** Queues an EDU for a server. */
  send(destination: string, edu: OutboundEdu): void;
  /** Registers a handler for received EDUs of a type. */
  onEdu(eduType: string, handler: EduHandler): () => void;
  readonly fetchUserDevices: UserDevicesFetcher;
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
  const federationStore = new DeviceListFederationStore(db);
  const allowDeviceNamesOverFederation = deps.allowDeviceNamesOverFederation === true;
  const federationSeams = deps.deviceListFederation;
  const deviceListUpdates = new DeviceListUpdates({
    serverName: deps.serverName,
    store: federationStore,
    deviceKeys,
    crossSigning,
    devices,
    usersSharingRoomWith: (userId) => membershipIndex.usersSharingRoomWith(userId),
    send: (destination, edu) => federationSeams?.send(destination, edu),
    allowDeviceNamesOverFederation,
    onError,
  });
  crossSigning.onPublicKeysChanged(deviceListUpdates);
  const remoteDeviceLists = new RemoteDeviceLists({
    serverName: deps.serverName,
    store: federationStore,
    fetchUserDevices: federationSeams?.fetchUserDevices ?? (async () => Promise.reject(new Error("Federation is not available"))),
    usersSharingRoomWith: (userId) => membershipIndex.usersSharingRoomWith(userId),
    keysChanged: (userId) => deviceLists.keysChanged(userId),
    onError,
  });
  const unregisterEdus = [...deviceListEduHandlers(remoteDeviceLists)].map(([eduType, handler]) => federationSeams?.onEdu(eduType, handler));
  const keys = new KeysService(deps.serverName, deviceKeys, oneTimeKeys, crossSigning, deviceLists, {
    ...(deps.remoteKeys === undefined ? {} : { remote: deps.remoteKeys }),
    ...(federationSeams === undefined ? {} : { remoteCache: remoteDeviceLists }),
    publicKeys: deviceListUpdates,
    allowDeviceNamesOverFederation,
  });
  crossSigning.useRemoteMasterKeys((viewer, userIds) => keys.remoteMasterKeys(viewer, userIds));
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
    await deviceListUpdates.devicesChanged(userId, deviceIds);
  });

  // A new or renamed device is a device-list change (server-server-api#device-management: "for
  // new or deleted devices ... or changes in device information such as the device's human-readable name").
  devices.onDeviceChanged(async (userId, deviceId) => {
    await deviceLists.keysChanged(userId);
    await deviceListUpdates.devicesChanged(userId, [deviceId]);
  });

  // A membership change becomes a device-list entry once the index has applied it, so whoever it
  // wakes reads the new memberships.
  const unsubscribe = deps.roomOutputs.subscribe((output) => {
    if (output.kind !== "new_room_event") return;
    const userIds = membershipChangesIn(output.stateDelta);
    if (userIds.length === 0) return;
    membershipIndex
      .waitUntil(output.streamOrdering)
      .then(async () => {
        deviceLists.membershipsChanged(output.roomId, userIds);
        // A cached remote list stays current only while its user shares a room with one of ours:
        // the remote users who changed, or all the room's remote members when one of ours left
        // (a join only adds sharing; reading a big room's members at every join was quadratic).
        const ours = userIds.filter((u) => serverNameOf(u) === deps.serverName);
        const left = await Promise.all(ours.map(async (u) => (await membershipIndex.membershipOf(u, output.roomId)) !== "join"));
        const members = left.includes(true) ? await membershipIndex.joinedMembers(output.roomId) : [];
        await remoteDeviceLists.membershipsChanged([...userIds, ...members]);
      })
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
    deviceListUpdates,
    remoteDeviceLists,
    endpoints: [
      ...keysEndpoints(keys),
      ...crossSigningEndpoints(crossSigning),
      ...toDeviceEndpoints(toDevice),
      ...keyBackupEndpoints(keyBackups),
      ...userKeysEndpoints(keys),
      ...userDevicesEndpoints(deps.serverName, deviceListUpdates),
    ],
    close: async () => {
      clearInterval(purgeTimer);
      unsubscribe();
      for (const unregister of unregisterEdus) unregister?.();
      await deviceListUpdates.settled();
      await remoteDeviceLists.settled();
      await deviceLists.flush();
    },
  };
}
