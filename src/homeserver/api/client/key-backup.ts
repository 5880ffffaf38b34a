// Server-side key backups (modules/end_to_end_encryption.md#server-side-key-backups): key_backup.yaml.
// All added in v1.1, so no r0 paths.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { KeyBackupData, KeyBackupService } from "../../e2ee/key-backup-service.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

const paths = (path: string): string[] => clientPaths(path, { r0: false });

/** definitions/key_backup_data.yaml */
const keyBackupData = {
  type: "object",
  required: ["first_message_index", "forwarded_count", "is_verified", "session_data"],
  properties: {
    first_message_index: { type: "integer", minimum: 0 },
    forwarded_count: { type: "integer", minimum: 0 },
    is_verified: { type: "boolean" },
    session_data: { type: "object" },
  },
};
/** definitions/room_key_backup.yaml */
const roomKeyBackup = { type: "object", required: ["sessions"], properties: { sessions: { type: "object", additionalProperties: keyBackupData } } };

const versionBody = {
  type: "object",
  required: ["algorithm", "auth_data"],
  properties: { algorithm: { type: "string" }, auth_data: { type: "object" }, version: { type: "string" } },
};

interface VersionBody {
  algorithm: string;
  auth_data: JsonObject;
  version?: string;
}

interface RoomKeyBackup {
  sessions: Record<string, KeyBackupData>;
}

/** The `version` query parameter the key endpoints require. */
function versionParam(req: MatrixRequest): string {
  const version = queryParam(req, "version");
  if (version === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: version", 400);
  return version;
}

function param(req: MatrixRequest, name: string): string {
  return req.params[name] ?? "";
}

function roomKeys(roomId: string, room: RoomKeyBackup): (KeyBackupData & { roomId: string; sessionId: string })[] {
  return Object.entries(room.sessions).map(([sessionId, data]) => ({ ...data, roomId, sessionId }));
}

export function keyBackupEndpoints(backups: KeyBackupService): Endpoint[] {
  const user = (req: MatrixRequest): string => nonGuestRequesterOf(req).userId;

  const createVersion: Endpoint<VersionBody> = {
    name: "client.room_keys_version_create",
    method: "POST",
    paths: paths("/room_keys/version"),
    resource: "client",
    auth: "accessToken",
    schema: versionBody,
    handler: async (req) => await backups.createVersion(user(req), req.body.algorithm, req.body.auth_data),
  };
  const currentVersion: Endpoint = {
    name: "client.room_keys_version_current",
    method: "GET",
    paths: paths("/room_keys/version"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.getVersion(user(req), undefined),
  };
  const getVersion: Endpoint = {
    name: "client.room_keys_version",
    method: "GET",
    paths: paths("/room_keys/version/:version"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.getVersion(user(req), param(req, "version")),
  };
  const updateVersion: Endpoint<VersionBody> = {
    name: "client.room_keys_version_update",
    method: "PUT",
    paths: paths("/room_keys/version/:version"),
    resource: "client",
    auth: "accessToken",
    schema: versionBody,
    handler: async (req) => {
      await backups.updateVersion(user(req), param(req, "version"), req.body);
      return {};
    },
  };
  const deleteVersion: Endpoint = {
    name: "client.room_keys_version_delete",
    method: "DELETE",
    paths: paths("/room_keys/version/:version"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await backups.deleteVersion(user(req), param(req, "version"));
      return {};
    },
  };

  const putAll: Endpoint<{ rooms: Record<string, RoomKeyBackup> }> = {
    name: "client.room_keys_put",
    method: "PUT",
    paths: paths("/room_keys/keys"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["rooms"], properties: { rooms: { type: "object", additionalProperties: roomKeyBackup } } },
    handler: async (req) =>
      await backups.putKeys(user(req), versionParam(req), Object.entries(req.body.rooms).flatMap(([roomId, room]) => roomKeys(roomId, room))),
  };
  const putRoom: Endpoint<RoomKeyBackup> = {
    name: "client.room_keys_put_room",
    method: "PUT",
    paths: paths("/room_keys/keys/:roomId"),
    resource: "client",
    auth: "accessToken",
    schema: roomKeyBackup,
    handler: async (req) => await backups.putKeys(user(req), versionParam(req), roomKeys(param(req, "roomId"), req.body)),
  };
  const putSession: Endpoint<KeyBackupData> = {
    name: "client.room_keys_put_session",
    method: "PUT",
    paths: paths("/room_keys/keys/:roomId/:sessionId"),
    resource: "client",
    auth: "accessToken",
    schema: keyBackupData,
    handler: async (req) =>
      await backups.putKeys(user(req), versionParam(req), [{ ...req.body, roomId: param(req, "roomId"), sessionId: param(req, "sessionId") }]),
  };

  const getAll: Endpoint = {
    name: "client.room_keys_get",
    method: "GET",
    paths: paths("/room_keys/keys"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.getAllKeys(user(req), versionParam(req)),
  };
  const getRoom: Endpoint = {
    name: "client.room_keys_get_room",
    method: "GET",
    paths: paths("/room_keys/keys/:roomId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.getRoomKeys(user(req), versionParam(req), param(req, "roomId")),
  };
  const getSession: Endpoint = {
    name: "client.room_keys_get_session",
    method: "GET",
    paths: paths("/room_keys/keys/:roomId/:sessionId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.getSessionKey(user(req), versionParam(req), param(req, "roomId"), param(req, "sessionId")),
  };

  const deleteAll: Endpoint = {
    name: "client.room_keys_delete",
    method: "DELETE",
    paths: paths("/room_keys/keys"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.deleteKeys(user(req), versionParam(req)),
  };
  const deleteRoom: Endpoint = {
    name: "client.room_keys_delete_room",
    method: "DELETE",
    paths: paths("/room_keys/keys/:roomId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.deleteKeys(user(req), versionParam(req), param(req, "roomId")),
  };
  const deleteSession: Endpoint = {
    name: "client.room_keys_delete_session",
    method: "DELETE",
    paths: paths("/room_keys/keys/:roomId/:sessionId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await backups.deleteKeys(user(req), versionParam(req), param(req, "roomId"), param(req, "sessionId")),
  };

  return [createVersion, currentVersion, getVersion, updateVersion, deleteVersion, putAll, putRoom, putSession, getAll, getRoom, getSession, deleteAll, deleteRoom, deleteSession];
}
