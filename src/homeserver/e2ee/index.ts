// End-to-end encryption, the server's side (modules/end_to_end_encryption.md, send_to_device.md):
// the services other areas use. Sync reads to-device messages, device-list changes and one-time
// key counts through these; the federation area plugs its client and sender into the seams
// (RemoteKeyQuerier, RemoteToDeviceSender). The composition is in ../e2ee.ts.
export { ToDeviceService, TO_DEVICE_SYNC_LIMIT } from "./to-device-service.ts";
export type { DirectToDeviceEdu, RemoteToDeviceSender, ToDeviceBatch } from "./to-device-service.ts";
export { DeviceListService } from "./device-list-service.ts";
export type { DeviceListChanges, RoomMembershipView, StreamNotifier } from "./device-list-service.ts";
export { OneTimeKeyService } from "./one-time-key-service.ts";
export { KeysService } from "./keys-service.ts";
export type { RemoteKeyQuerier } from "./keys-service.ts";
export { CrossSigningService } from "./cross-signing-service.ts";
export { DeviceKeyService } from "./device-key-service.ts";
export { KeyBackupService } from "./key-backup-service.ts";
