// Other servers' users' device lists, cached (server-server-api#device-management): "When a
// server wishes to determine a remote user's device list for the first time, it should populate a
// local cache ... However, subsequent updates to the cache should be applied by consuming
// m.device_list_update EDUs." The cache is filled from GET /user/devices/{userId} (its stream_id
// is what the EDUs' prev_ids are checked against); an EDU whose prev_ids are all known is applied,
// any other (a gap, or a user not cached) makes us "resynchronise [the] list". Only users who
// share a room with one of our users are cached: the server sends updates only while they do, so
// a user who shares none any more is forgotten (a later /keys/query starts afresh).
//
// Everything here comes from another server: the EDU's user must be the origin's, device keys
// must name their user and device and be signed by the device's own key, and cross-signing keys
// must be the user's (a self-signing key signed by its master key).
import { MatrixError } from "../../core/errors.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import { RateLimiter } from "../../http/rate-limit.ts";
import type { DeviceListFederationStore, RemoteDevice, RemoteDeviceListSnapshot } from "../../storage/stores/device-list-federation.ts";
import { checkDeviceKeys, isSignedBy, parseCrossSigningKey } from "./key-objects.ts";

/** GET /_matrix/federation/v1/user/devices/{userId} on the user's server: its response body. */
export type UserDevicesFetcher = (userId: string, timeoutMs?: number) => Promise<JsonObject>;

export interface RemoteDeviceListsDeps {
  readonly serverName: string;
  readonly store: DeviceListFederationStore;
  readonly fetchUserDevices: UserDevicesFetcher;
  /** The users joined to a room the user is joined to. */
  readonly usersSharingRoomWith: (userId: string) => Promise<Set<string>>;
  /** The user's devices changed: local users sharing a room are told through the device-list stream. */
  readonly keysChanged: (userId: string) => Promise<void>;
  readonly onError?: (error: unknown, what: string) => void;
  /** The time in ms (tests set it); Date.now by default. */
  readonly now?: () => number;
}

/** The keys/query fields answered from the cache. */
export interface CachedKeys {
  readonly device_keys: Record<string, JsonObject>;
  readonly master_keys: Record<string, JsonObject>;
  readonly self_signing_keys: Record<string, JsonObject>;
  /** The users the cache could not answer for (asked over federation instead). */
  readonly unanswered: Map<string, string[]>;
}

/** How long a resync for a local /keys/query may take when the request gives no timeout. */
const DEFAULT_RESYNC_TIMEOUT_MS = 10_000;

/**
 * Resyncs that updates from another server may cause, a user: a burst, then one every interval. A
 * server that keeps sending updates we cannot place (made-up prev_ids) would otherwise have us fetch
 * the list at each one; past the limit the cached list is dropped instead, so that nothing stale is
 * served and a local /keys/query (paced by our own clients) asks the server when it is needed.
 */
export const UPDATE_RESYNC_BURST = 3;
export const UPDATE_RESYNC_INTERVAL_MS = 30_000;
/** How many users' resync budgets are kept (those back to full are forgotten first). */
const MAX_TRACKED_USERS = 10_000;

function isStreamId(value: JsonValue | undefined): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A device's keys as received, checked; undefined when absent, throws when not acceptable. */
function receivedDeviceKeys(keys: JsonValue | undefined, userId: string, deviceId: string): JsonObject | undefined {
  if (keys === undefined || keys === null) return undefined;
  if (!isJsonObject(keys)) throw new MatrixError("M_BAD_JSON", "keys must be an object", 400);
  checkDeviceKeys(keys, userId, deviceId);
  const { unsigned: _unsigned, ...signed } = keys;
  return signed;
}

/** The master and self-signing keys received for a user, each kept only when it checks out. */
function receivedSigningKeys(userId: string, master: JsonValue | undefined, selfSigning: JsonValue | undefined, cachedMaster: JsonObject | undefined) {
  const out: { masterKey?: JsonObject; selfSigningKey?: JsonObject } = {};
  let masterKey: ReturnType<typeof parseCrossSigningKey> | undefined;
  const parse = (value: JsonValue | undefined, type: "master" | "self_signing") => {
    if (!isJsonObject(value)) return undefined;
    const { unsigned: _unsigned, ...key } = value;
    try {
      return parseCrossSigningKey(key, type, userId, type);
    } catch {
      return undefined;
    }
  };
  masterKey = parse(master, "master");
  if (masterKey !== undefined) out.masterKey = masterKey.key;
  else if (cachedMaster !== undefined) masterKey = parse(cachedMaster, "master");
  const selfSigningKey = parse(selfSigning, "self_signing");
  // cross_signing.yaml: the self-signing key is signed by the master key.
  if (selfSigningKey !== undefined && masterKey !== undefined && isSignedBy(selfSigningKey.key, userId, masterKey.keyId, masterKey.publicKeyBytes)) {
    out.selfSigningKey = selfSigningKey.key;
  }
  return out;
}

export class RemoteDeviceLists {
  readonly #d: RemoteDeviceListsDeps;
  /** One user's updates and resyncs at a time. */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** Update-caused resyncs, by user (UPDATE_RESYNC_BURST). */
  readonly #updateResyncs: RateLimiter;

  constructor(deps: RemoteDeviceListsDeps) {
    this.#d = deps;
    this.#updateResyncs = new RateLimiter(
      { perSecond: 1000 / UPDATE_RESYNC_INTERVAL_MS, burstCount: UPDATE_RESYNC_BURST },
      { now: deps.now ?? Date.now, maxKeys: MAX_TRACKED_USERS },
    );
  }

  /** m.device_list_update from `origin` (the dispatcher checked the user is the origin's). Never throws. */
  async receiveDeviceListUpdate(origin: string, content: JsonObject): Promise<void> {
    const { user_id: userId, device_id: deviceId, stream_id: streamId } = content;
    if (typeof userId !== "string" || serverNameOf(userId) !== origin || origin === this.#d.serverName) return;
    if (typeof deviceId !== "string" || deviceId.length === 0 || !isStreamId(streamId)) return;
    const rawPrev = content["prev_id"] ?? [];
    if (!Array.isArray(rawPrev) || !rawPrev.every(isStreamId)) return;
    const prevIds = rawPrev as number[];
    await this.#serially(userId, "applying a device list update", async () => {
      if (!(await this.#sharesRoomWithLocalUser(userId))) {
        await this.#d.store.forgetRemote([userId]);
        return;
      }
      const cached = (await this.#d.store.remoteLists([userId])).get(userId);
      if (cached !== undefined && streamId <= cached.streamId) return; // seen already (or covered by the snapshot)
      let update: RemoteDevice | { deviceId: string; deleted: true } | undefined;
      try {
        const name = content["device_display_name"];
        update =
          content["deleted"] === true
            ? { deviceId, deleted: true }
            : { deviceId, keys: receivedDeviceKeys(content["keys"], userId, deviceId), displayName: typeof name === "string" ? name : undefined };
      } catch {
        update = undefined; // keys we cannot accept: ask the server for the whole list instead
      }
      // "If the receiving server does not recognise any of the prev_ids ... [it] should query a snapshot".
      const known = cached !== undefined && prevIds.every((p) => p <= cached.streamId);
      const applied = known && update !== undefined && (await this.#d.store.applyRemoteUpdate(userId, cached.streamId, streamId, update));
      try {
        if (!applied && this.#updateResyncs.take(userId).allowed) await this.#resync(userId);
        else if (!applied) await this.#d.store.forgetRemote([userId]);
      } catch (error) {
        // A cache we could not bring up to date is dropped: the next /keys/query asks the server.
        await this.#d.store.forgetRemote([userId]);
        (this.#d.onError ?? (() => undefined))(error, "resynchronising a device list");
      }
      await this.#d.keysChanged(userId);
    });
  }

  /** m.signing_key_update from `origin`: the cached master and self-signing keys are replaced. Never throws. */
  async receiveSigningKeyUpdate(origin: string, content: JsonObject): Promise<void> {
    const userId = content["user_id"];
    if (typeof userId !== "string" || serverNameOf(userId) !== origin || origin === this.#d.serverName) return;
    await this.#serially(userId, "applying a signing key update", async () => {
      if (!(await this.#sharesRoomWithLocalUser(userId))) {
        await this.#d.store.forgetRemote([userId]);
        return;
      }
      const cached = (await this.#d.store.remoteLists([userId])).get(userId);
      const keys = receivedSigningKeys(userId, content["master_key"], content["self_signing_key"], cached?.masterKey);
      if (keys.masterKey === undefined && keys.selfSigningKey === undefined) return;
      if (cached !== undefined) await this.#d.store.setRemoteSigningKeys(userId, keys);
      await this.#d.keysChanged(userId);
    });
  }

  /**
   * A local /keys/query's remote users, answered from the cache where it can: cached users, and
   * users sharing a room with one of ours, cached now (a resync). The rest are left unanswered.
   */
  async query(byUser: ReadonlyMap<string, readonly string[]>, timeoutMs = DEFAULT_RESYNC_TIMEOUT_MS): Promise<CachedKeys> {
    const result: CachedKeys = { device_keys: {}, master_keys: {}, self_signing_keys: {}, unanswered: new Map() };
    const userIds = [...byUser.keys()].filter((u) => serverNameOf(u) !== this.#d.serverName);
    const cached = await this.#d.store.remoteLists(userIds);
    await Promise.all(
      userIds
        .filter((u) => !cached.has(u))
        .map(async (userId) => {
          const snapshot = await this.#serially(userId, "caching a device list", async () => {
            const again = (await this.#d.store.remoteLists([userId])).get(userId);
            if (again !== undefined) return again;
            if (!(await this.#sharesRoomWithLocalUser(userId))) return undefined;
            return await this.#resync(userId, timeoutMs);
          });
          if (snapshot !== undefined) cached.set(userId, snapshot);
        }),
    );
    const devices = await this.#d.store.remoteDevices([...cached.keys()]);
    for (const userId of userIds) {
      const list = cached.get(userId);
      if (list === undefined) {
        result.unanswered.set(userId, [...(byUser.get(userId) ?? [])]);
        continue;
      }
      const wanted = new Set(byUser.get(userId) ?? []);
      const forUser: JsonObject = {};
      for (const device of devices.get(userId) ?? []) {
        if (device.keys === undefined || (wanted.size > 0 && !wanted.has(device.deviceId))) continue;
        forUser[device.deviceId] = { ...device.keys, unsigned: device.displayName === undefined ? {} : { device_display_name: device.displayName } };
      }
      result.device_keys[userId] = forUser;
      if (list.masterKey !== undefined) result.master_keys[userId] = list.masterKey;
      if (list.selfSigningKey !== undefined) result.self_signing_keys[userId] = list.selfSigningKey;
    }
    return result;
  }

  /**
   * Users' memberships changed: those of other servers who now share no room with any of our
   * users are forgotten (their server stops sending us their updates).
   */
  async membershipsChanged(userIds: readonly string[]): Promise<void> {
    const remote = [...new Set(userIds)].filter((u) => serverNameOf(u) !== this.#d.serverName);
    if (remote.length === 0) return;
    const cached = await this.#d.store.remoteLists(remote);
    const gone: string[] = [];
    for (const userId of cached.keys()) if (!(await this.#sharesRoomWithLocalUser(userId))) gone.push(userId);
    await this.#d.store.forgetRemote(gone);
  }

  /** Resolves once the updates and resyncs started so far are done (tests). */
  async settled(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }

  /** GET /user/devices: the user's list, checked, replaces the cache. Throws when it cannot be had. */
  async #resync(userId: string, timeoutMs?: number): Promise<RemoteDeviceListSnapshot> {
    const body = await this.#d.fetchUserDevices(userId, timeoutMs);
    if (body["user_id"] !== userId) throw new Error(`GET /user/devices answered for ${String(body["user_id"])}, not ${userId}`);
    const streamId = body["stream_id"];
    if (!isStreamId(streamId)) throw new Error("GET /user/devices answered without a valid stream_id");
    const devices: RemoteDevice[] = [];
    const seen = new Set<string>();
    for (const device of Array.isArray(body["devices"]) ? body["devices"] : []) {
      if (!isJsonObject(device) || typeof device["device_id"] !== "string" || seen.has(device["device_id"])) continue;
      const deviceId = device["device_id"];
      let keys: JsonObject | undefined;
      try {
        keys = receivedDeviceKeys(device["keys"], userId, deviceId);
      } catch {
        continue; // a device whose keys are not its own is left out
      }
      seen.add(deviceId);
      const name = device["device_display_name"];
      devices.push({ deviceId, keys, displayName: typeof name === "string" ? name : undefined });
    }
    const signing = receivedSigningKeys(userId, body["master_key"], body["self_signing_key"], undefined);
    const snapshot: RemoteDeviceListSnapshot = { userId, streamId, masterKey: signing.masterKey, selfSigningKey: signing.selfSigningKey, devices };
    await this.#d.store.replaceRemote(snapshot);
    return snapshot;
  }

  async #sharesRoomWithLocalUser(userId: string): Promise<boolean> {
    for (const member of await this.#d.usersSharingRoomWith(userId)) if (serverNameOf(member) === this.#d.serverName) return true;
    return false;
  }

  // Runs after the user's previous work; a failure is reported and answers undefined.
  #serially<T>(userId: string, what: string, run: () => Promise<T>): Promise<T | undefined> {
    const previous = this.#tails.get(userId) ?? Promise.resolve();
    const next = previous.then(run).catch((error: unknown) => {
      (this.#d.onError ?? (() => undefined))(error, what);
      return undefined;
    });
    this.#tails.set(userId, next);
    void next.then(() => {
      if (this.#tails.get(userId) === next) this.#tails.delete(userId);
    });
    return next;
  }
}
