// Server-side key backups (modules/end_to_end_encryption.md#server-side-key-backups; key_backup.yaml):
// the server stores what clients encrypted for the backup's key and never reads it. Keys are only
// written to the current (latest) version; older versions stay readable until deleted.
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { BackupKeyEntry, BackupKeysState, BackupVersion, KeyBackupStore } from "../../storage/stores/key-backup.ts";

/** #backup-algorithm-mmegolm_backupv1curve25519-aes-sha2: its auth_data carries the public key. */
export const MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2";

/** Versions are the decimal numbers we hand out; anything else names no backup. */
const VERSION = /^[1-9][0-9]{0,14}$/;

function parseVersion(version: string): number | undefined {
  return VERSION.test(version) ? Number(version) : undefined;
}

function noBackup(version?: string): MatrixError {
  return new MatrixError("M_NOT_FOUND", version === undefined ? "No current backup version" : `Unknown backup version ${version}`, 404);
}

/** The response of the key endpoints (RoomKeysUpdateResponse). */
function keysState(state: BackupKeysState): JsonObject {
  return { etag: String(state.etag), count: state.count };
}

function versionInfo(v: BackupVersion): JsonObject {
  return { algorithm: v.algorithm, auth_data: v.authData, count: v.count, etag: String(v.etag), version: String(v.version) };
}

/** definitions/key_backup_data.yaml, already checked against the schema by the endpoint. */
export interface KeyBackupData {
  readonly first_message_index: number;
  readonly forwarded_count: number;
  readonly is_verified: boolean;
  readonly session_data: JsonObject;
}

export class KeyBackupService {
  readonly #store: KeyBackupStore;

  constructor(store: KeyBackupStore) {
    this.#store = store;
  }

  /** POST /room_keys/version. */
  async createVersion(userId: string, algorithm: string, authData: JsonObject): Promise<JsonObject> {
    checkAuthData(algorithm, authData);
    return { version: String(await this.#store.createVersion(userId, algorithm, authData)) };
  }

  /** GET /room_keys/version[/{version}]: the current version when none is named. */
  async getVersion(userId: string, version: string | undefined): Promise<JsonObject> {
    const number = version === undefined ? undefined : parseVersion(version);
    if (version !== undefined && number === undefined) throw noBackup(version);
    const found = await this.#store.getVersion(userId, number);
    if (found === undefined) throw noBackup(version);
    return versionInfo(found);
  }

  /** PUT /room_keys/version/{version}: only auth_data changes. */
  async updateVersion(userId: string, version: string, body: { algorithm: string; auth_data: JsonObject; version?: string | undefined }): Promise<void> {
    if (body.version !== undefined && body.version !== version) {
      throw new MatrixError("M_INVALID_PARAM", "The version in the body does not match the version in the path", 400);
    }
    const number = parseVersion(version);
    const found = number === undefined ? undefined : await this.#store.getVersion(userId, number);
    if (number === undefined || found === undefined) throw noBackup(version);
    if (body.algorithm !== found.algorithm) throw new MatrixError("M_INVALID_PARAM", "The algorithm cannot change; create a new backup version instead", 400);
    checkAuthData(body.algorithm, body.auth_data);
    if (!(await this.#store.updateAuthData(userId, number, body.auth_data))) throw noBackup(version);
  }

  /** DELETE /room_keys/version/{version}: a version deleted before is no error, an unknown one is. */
  async deleteVersion(userId: string, version: string): Promise<void> {
    const number = parseVersion(version);
    if (number === undefined || (await this.#store.deleteVersion(userId, number)) === "unknown") throw noBackup(version);
  }

  /**
   * A deactivated account's backups go, keys and versions: nobody can read them any more, and the
   * room keys they hold, encrypted as they are, are the user's (Synapse deletes them too).
   */
  async deleteAll(userId: string): Promise<void> {
    await this.#store.deleteAllOf(userId);
  }

  /** PUT /room_keys/keys[/{roomId}[/{sessionId}]]: to the current version only. */
  async putKeys(userId: string, version: string, keys: readonly (KeyBackupData & { roomId: string; sessionId: string })[]): Promise<JsonObject> {
    const number = parseVersion(version) ?? -1;
    const entries: BackupKeyEntry[] = keys.map((k) => ({
      roomId: k.roomId,
      sessionId: k.sessionId,
      firstMessageIndex: k.first_message_index,
      forwardedCount: k.forwarded_count,
      isVerified: k.is_verified,
      sessionData: k.session_data,
    }));
    const result = await this.#store.putKeys(userId, number, entries);
    if ("refused" in result) {
      if (result.refused === "no_backup") throw noBackup();
      // key_backup.yaml: 403 with the current version when keys go to another one.
      throw new MatrixError("M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version", 403, { current_version: String(result.currentVersion) });
    }
    return keysState(result);
  }

  /** GET /room_keys/keys: rooms -> sessions. */
  async getAllKeys(userId: string, version: string): Promise<JsonObject> {
    const rooms: JsonObject = {};
    for (const k of await this.#keys(userId, version)) {
      const room = (rooms[k.roomId] ??= { sessions: {} }) as { sessions: JsonObject };
      room.sessions[k.sessionId] = keyData(k);
    }
    return { rooms };
  }

  /** GET /room_keys/keys/{roomId}: `{"sessions": {}}` when the room has none. */
  async getRoomKeys(userId: string, version: string, roomId: string): Promise<JsonObject> {
    const sessions: JsonObject = {};
    for (const k of await this.#keys(userId, version, roomId)) sessions[k.sessionId] = keyData(k);
    return { sessions };
  }

  /** GET /room_keys/keys/{roomId}/{sessionId}: 404 when the key is not there. */
  async getSessionKey(userId: string, version: string, roomId: string, sessionId: string): Promise<JsonObject> {
    const [key] = await this.#keys(userId, version, roomId, sessionId);
    if (key === undefined) throw new MatrixError("M_NOT_FOUND", "No key stored for this session", 404);
    return keyData(key);
  }

  /** DELETE /room_keys/keys[/{roomId}[/{sessionId}]]. */
  async deleteKeys(userId: string, version: string, roomId?: string, sessionId?: string): Promise<JsonObject> {
    const number = parseVersion(version);
    const result = number === undefined ? undefined : await this.#store.deleteKeys(userId, number, roomId, sessionId);
    if (result === undefined) throw noBackup(version);
    return keysState(result);
  }

  async #keys(userId: string, version: string, roomId?: string, sessionId?: string): Promise<BackupKeyEntry[]> {
    const number = parseVersion(version);
    const keys = number === undefined ? undefined : await this.#store.getKeys(userId, number, roomId, sessionId);
    if (keys === undefined) throw noBackup(version);
    return keys;
  }
}

function keyData(k: BackupKeyEntry): JsonObject {
  return { first_message_index: k.firstMessageIndex, forwarded_count: k.forwardedCount, is_verified: k.isVerified, session_data: k.sessionData };
}

/** The one algorithm the spec defines needs its public key; others' auth_data is theirs to define. */
function checkAuthData(algorithm: string, authData: JsonObject): void {
  if (!isJsonObject(authData)) throw new MatrixError("M_BAD_JSON", "auth_data must be an object", 400);
  // definitions/key_backup_auth_data.yaml: public_key is required.
  if (algorithm === MEGOLM_BACKUP_V1 && typeof authData["public_key"] !== "string") {
    throw new MatrixError("M_INVALID_PARAM", `auth_data of ${MEGOLM_BACKUP_V1} must have a public_key`, 400);
  }
}
