// The key management API (modules/end_to_end_encryption.md#key-management-api; keys.yaml):
// keys/upload, keys/query, keys/claim and keys/changes, over the device-key, one-time-key,
// cross-signing and device-list services. Other servers' users are asked through a
// RemoteKeyQuerier (the federation client's /user/keys/query and /user/keys/claim), within the
// request's `timeout`; a server that does not answer is listed in `failures`.
import { MatrixError } from "../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import { parseSyncToken } from "../sync/token.ts";
import type { CrossSigningService, PublicKeyListener } from "./cross-signing-service.ts";
import type { DeviceKeyService } from "./device-key-service.ts";
import type { DeviceListChanges, DeviceListService } from "./device-list-service.ts";
import { withSignatures } from "./key-objects.ts";
import type { OneTimeKeyService } from "./one-time-key-service.ts";
import type { CachedKeys } from "./remote-device-lists.ts";

/** Asks other servers for their users' keys (server-server-api#end-to-end-encryption). */
export interface RemoteKeyQuerier {
  /** POST /_matrix/federation/v1/user/keys/query: its response body. */
  queryKeys(destination: string, deviceKeys: Record<string, string[]>, timeoutMs: number): Promise<JsonObject>;
  /** POST /_matrix/federation/v1/user/keys/claim: its response body. */
  claimKeys(destination: string, oneTimeKeys: Record<string, Record<string, string>>, timeoutMs: number): Promise<JsonObject>;
}

/** keys.yaml: "10 seconds is the recommended default" for `timeout`. */
const DEFAULT_REMOTE_TIMEOUT_MS = 10_000;
const MAX_REMOTE_TIMEOUT_MS = 60_000;

function remoteTimeout(timeout: number | undefined): number {
  return Math.max(0, Math.min(timeout ?? DEFAULT_REMOTE_TIMEOUT_MS, MAX_REMOTE_TIMEOUT_MS));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The request's part for one server. */
function forServer<V>(byServer: Map<string, Record<string, V>>, server: string): Record<string, V> {
  let part = byServer.get(server);
  if (part === undefined) byServer.set(server, (part = {}));
  return part;
}

/** The `failures` entry of a server that could not be reached (Synapse's shape: status and message). */
function failureOf(error: unknown): JsonObject {
  return { status: 503, message: error instanceof Error ? error.message : String(error) };
}

/** What one server answered, or why it did not. */
type RemoteAnswer = { readonly server: string; readonly ok: true; readonly body: JsonObject } | { readonly server: string; readonly ok: false; readonly failure: JsonObject };

/** Other servers' users' device lists, cached (remote-device-lists.ts). */
export interface RemoteDeviceCache {
  query(byUser: ReadonlyMap<string, readonly string[]>, timeoutMs: number): Promise<CachedKeys>;
}

export interface KeysServiceOptions {
  readonly remote?: RemoteKeyQuerier;
  /** Answers for remote users whose device lists are cached; the rest are asked over federation. */
  readonly remoteCache?: RemoteDeviceCache;
  /** Told when a device's keys are uploaded (m.device_list_update to other servers). */
  readonly publicKeys?: Pick<PublicKeyListener, "devicesChanged">;
  /** Whether other servers see device names in /user/keys/query (default false). */
  readonly allowDeviceNamesOverFederation?: boolean;
}

export class KeysService {
  readonly #serverName: string;
  readonly #deviceKeys: DeviceKeyService;
  readonly #oneTimeKeys: OneTimeKeyService;
  readonly #crossSigning: CrossSigningService;
  readonly #deviceLists: DeviceListService;
  readonly #remote: RemoteKeyQuerier | undefined;
  readonly #remoteCache: RemoteDeviceCache | undefined;
  readonly #publicKeys: Pick<PublicKeyListener, "devicesChanged"> | undefined;
  readonly #namesOverFederation: boolean;

  constructor(
    serverName: string,
    deviceKeys: DeviceKeyService,
    oneTimeKeys: OneTimeKeyService,
    crossSigning: CrossSigningService,
    deviceLists: DeviceListService,
    options: KeysServiceOptions = {},
  ) {
    this.#serverName = serverName;
    this.#deviceKeys = deviceKeys;
    this.#oneTimeKeys = oneTimeKeys;
    this.#crossSigning = crossSigning;
    this.#deviceLists = deviceLists;
    this.#remote = options.remote;
    this.#remoteCache = options.remoteCache;
    this.#publicKeys = options.publicKeys;
    this.#namesOverFederation = options.allowDeviceNamesOverFederation === true;
  }

  /** POST /keys/upload: the device's identity keys, one-time keys and fallback keys; answers the counts. */
  async upload(requester: Requester, body: { device_keys?: JsonObject; one_time_keys?: JsonObject; fallback_keys?: JsonObject }): Promise<JsonObject> {
    const { userId, deviceId } = requester;
    if (deviceId === undefined) throw new MatrixError("M_INVALID_PARAM", "Keys belong to a device: this access token has none", 400);
    const stored = body.device_keys === undefined ? "unchanged" : await this.#deviceKeys.upload(userId, deviceId, body.device_keys);
    // Signatures made on the keys a device replaced do not sign its new ones.
    if (stored === "replaced") await this.#crossSigning.deleteDevices(userId, [deviceId]);
    if (stored !== "unchanged") {
      await this.#deviceLists.keysChanged(userId);
      await this.#publicKeys?.devicesChanged(userId, [deviceId]);
    }
    await this.#oneTimeKeys.upload(userId, deviceId, body.one_time_keys, body.fallback_keys);
    return { one_time_key_counts: await this.#oneTimeKeys.counts(userId, deviceId) };
  }

  /** POST /keys/query. */
  query(requester: Requester, deviceKeys: Record<string, string[]>, timeout: number | undefined): Promise<JsonObject> {
    return this.#query(requester.userId, deviceKeys, timeout);
  }

  /** Other servers' users' master keys, as keys/query retrieves them for `viewer` (keys/signatures/upload). */
  async remoteMasterKeys(viewer: string, userIds: readonly string[]): Promise<Map<string, JsonObject>> {
    const remote = userIds.filter((u) => parseUserId(u) !== undefined && serverNameOf(u) !== this.#serverName);
    if (remote.length === 0) return new Map();
    const answer = await this.#query(viewer, Object.fromEntries(remote.map((u) => [u, []])), undefined);
    return new Map(Object.entries(answer["master_keys"] as Record<string, JsonObject>));
  }

  // The keys of the users as `viewer` may see them, other servers' users' asked within `timeout`.
  async #query(viewer: string, deviceKeys: Record<string, string[]>, timeout: number | undefined): Promise<JsonObject> {
    const local = new Map<string, string[]>();
    let remoteUsers = new Map<string, string[]>();
    for (const [userId, deviceIds] of Object.entries(deviceKeys)) {
      if (parseUserId(userId) === undefined) continue;
      if (serverNameOf(userId) === this.#serverName) local.set(userId, [...new Set(deviceIds)]);
      else remoteUsers.set(userId, deviceIds);
    }
    const timeoutMs = remoteTimeout(timeout);
    // server-server-api#device-management: cached lists are kept current by the servers' EDUs.
    const cached = this.#remoteCache === undefined || remoteUsers.size === 0 ? undefined : await this.#remoteCache.query(remoteUsers, timeoutMs);
    if (cached !== undefined) remoteUsers = cached.unanswered;
    const remote = new Map<string, Record<string, string[]>>();
    for (const [userId, deviceIds] of remoteUsers) forServer(remote, serverNameOf(userId) ?? "")[userId] = deviceIds;
    const remoteAnswers = this.#queryRemote(remote, timeoutMs);
    const result = { failures: {} as JsonObject, ...(await this.#localKeys(viewer, local)) };
    const remoteMasterKeys: JsonObject = {};
    if (cached !== undefined) {
      Object.assign(result.device_keys, cached.device_keys);
      Object.assign(remoteMasterKeys, cached.master_keys);
      Object.assign(result.self_signing_keys, cached.self_signing_keys);
    }
    for (const answer of await remoteAnswers) {
      if (!answer.ok) {
        result.failures[answer.server] = answer.failure;
        continue;
      }
      // Only what the server may speak for: its own users.
      for (const field of ["device_keys", "master_keys", "self_signing_keys"] as const) {
        const byUser = answer.body[field];
        if (!isJsonObject(byUser)) continue;
        const into = field === "master_keys" ? remoteMasterKeys : result[field];
        for (const [userId, value] of Object.entries(byUser)) {
          if (serverNameOf(userId) === answer.server && isJsonObject(value)) into[userId] = value;
        }
      }
    }
    // keys.yaml master_keys: "along with the signatures uploaded via /keys/signatures/upload that the
    // requesting user is allowed to see": its own, on other servers' users' keys, are stored here.
    await this.#crossSigning.withViewerSignatures(viewer, remoteMasterKeys as Record<string, JsonObject>);
    Object.assign(result.master_keys, remoteMasterKeys);
    return result;
  }

  /** POST /keys/claim. */
  async claim(oneTimeKeys: Record<string, Record<string, string>>, timeout: number | undefined): Promise<JsonObject> {
    const local: { userId: string; deviceId: string; algorithm: string }[] = [];
    const remote = new Map<string, Record<string, Record<string, string>>>();
    for (const [userId, byDevice] of Object.entries(oneTimeKeys)) {
      if (parseUserId(userId) === undefined) continue;
      const server = serverNameOf(userId) ?? "";
      if (server === this.#serverName) {
        for (const [deviceId, algorithm] of Object.entries(byDevice)) local.push({ userId, deviceId, algorithm });
      } else {
        forServer(remote, server)[userId] = byDevice;
      }
    }
    const remoteAnswers = this.#claimRemote(remote, remoteTimeout(timeout));
    const result = { one_time_keys: await this.#claimLocal(local), failures: {} as JsonObject };
    for (const answer of await remoteAnswers) {
      if (!answer.ok) {
        result.failures[answer.server] = answer.failure;
        continue;
      }
      const byUser = answer.body["one_time_keys"];
      if (!isJsonObject(byUser)) continue;
      for (const [userId, value] of Object.entries(byUser)) {
        if (serverNameOf(userId) === answer.server && isJsonObject(value)) result.one_time_keys[userId] = value;
      }
    }
    return result;
  }

  /**
   * server-server-api user_keys.yaml POST /user/keys/query: this server's users' keys as another
   * server may see them (no user-signing keys, only signatures made by the keys' owners).
   */
  async queryForServer(deviceKeys: Record<string, string[]>): Promise<JsonObject> {
    const local = new Map<string, string[]>();
    for (const [userId, deviceIds] of Object.entries(deviceKeys)) {
      if (parseUserId(userId) !== undefined && serverNameOf(userId) === this.#serverName) local.set(userId, [...new Set(deviceIds)]);
    }
    const { user_signing_keys: _userSigning, ...keys } = await this.#localKeys(undefined, local);
    return keys;
  }

  /** server-server-api user_keys.yaml POST /user/keys/claim: keys of this server's users' devices. */
  async claimForServer(oneTimeKeys: Record<string, Record<string, string>>): Promise<JsonObject> {
    const local = Object.entries(oneTimeKeys).flatMap(([userId, byDevice]) =>
      serverNameOf(userId) === this.#serverName ? Object.entries(byDevice).map(([deviceId, algorithm]) => ({ userId, deviceId, algorithm })) : [],
    );
    return { one_time_keys: await this.#claimLocal(local) };
  }

  /** GET /keys/changes?from&to: between two sync tokens' device-list positions. */
  changes(requester: Requester, from: string, to: string): Promise<DeviceListChanges> {
    return this.#deviceLists.changesBetween(requester.userId, parseSyncToken(from).deviceLists, parseSyncToken(to).deviceLists);
  }

  // The keys of this server's users, as `viewer` may see them (undefined: another server).
  async #localKeys(viewer: string | undefined, local: ReadonlyMap<string, readonly string[]>) {
    const keys = { device_keys: {} as JsonObject, master_keys: {} as JsonObject, self_signing_keys: {} as JsonObject, user_signing_keys: {} as JsonObject };
    const [stored, crossSigning] = await Promise.all([this.#deviceKeys.forUsers(local), this.#crossSigning.keysFor(viewer, [...local.keys()])]);
    for (const userId of local.keys()) keys.device_keys[userId] = {};
    for (const device of stored) {
      const signatures = crossSigning.deviceSignatures.get(device.userId)?.get(device.deviceId) ?? new Map();
      // keys.yaml: "the same as uploaded via /keys/upload, with the addition of an unsigned property";
      // other servers see the name only when allowed (device-list-updates.ts).
      const named = device.displayName !== null && (viewer !== undefined || this.#namesOverFederation);
      const unsigned: JsonObject = named ? { device_display_name: device.displayName } : {};
      (keys.device_keys[device.userId] as JsonObject)[device.deviceId] = { ...withSignatures(device.keys, signatures), unsigned };
    }
    for (const [userId, key] of crossSigning.masterKeys) keys.master_keys[userId] = key;
    for (const [userId, key] of crossSigning.selfSigningKeys) keys.self_signing_keys[userId] = key;
    for (const [userId, key] of crossSigning.userSigningKeys) keys.user_signing_keys[userId] = key;
    return keys;
  }

  async #claimLocal(requests: readonly { userId: string; deviceId: string; algorithm: string }[]): Promise<JsonObject> {
    const oneTimeKeys: JsonObject = {};
    for (const k of await this.#oneTimeKeys.claim(requests)) {
      const byDevice = (oneTimeKeys[k.userId] ??= {}) as JsonObject;
      byDevice[k.deviceId] = { [`${k.algorithm}:${k.keyId}`]: k.key };
    }
    return oneTimeKeys;
  }

  async #queryRemote(remote: ReadonlyMap<string, Record<string, string[]>>, timeoutMs: number): Promise<RemoteAnswer[]> {
    return await Promise.all(
      [...remote].map(async ([server, query]): Promise<RemoteAnswer> => {
        try {
          if (this.#remote === undefined) throw new Error("Federation key queries are not available");
          return { server, ok: true, body: await withTimeout(this.#remote.queryKeys(server, query, timeoutMs), timeoutMs) };
        } catch (error) {
          return { server, ok: false, failure: failureOf(error) };
        }
      }),
    );
  }

  async #claimRemote(remote: ReadonlyMap<string, Record<string, Record<string, string>>>, timeoutMs: number): Promise<RemoteAnswer[]> {
    return await Promise.all(
      [...remote].map(async ([server, query]): Promise<RemoteAnswer> => {
        try {
          if (this.#remote === undefined) throw new Error("Federation key claims are not available");
          return { server, ok: true, body: await withTimeout(this.#remote.claimKeys(server, query, timeoutMs), timeoutMs) };
        } catch (error) {
          return { server, ok: false, failure: failureOf(error) };
        }
      }),
    );
  }
}
