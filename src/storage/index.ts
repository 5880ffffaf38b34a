// The storage layer's public API.
export { openDatabase } from "./database.ts";
export type { Database, DatabaseConfig, OpenOptions, Trx } from "./database.ts";
export type { Engine } from "./engine.ts";
export { SchemaTooNewError, StorageError, isSerializationFailure, isUniqueViolation } from "./errors.ts";
export type { StorageLogger } from "./logger.ts";
export type { Migration, MigrationDb } from "./migrations/migration.ts";
export { addAutoIncrementId, addFlagColumn } from "./migrations/migration.ts";
export { migrations } from "./migrations/index.ts";
export { fromFlag, toFlag } from "./schema.ts";
export type { Flag, Schema } from "./schema.ts";
export { UserExistsError, UserStore } from "./stores/users.ts";
export type { NewUser, User } from "./stores/users.ts";
export { DeviceExistsError, DeviceStore } from "./stores/devices.ts";
export type { AccessToken, Device, NewAccessToken } from "./stores/devices.ts";
