// Our users' device lists as other servers see them (server-server-api#device-management,
// #end-to-end-encryption):
// - GET /user/devices/{userId}: a user's devices with their keys, its master and self-signing
//   keys, and the stream_id the list is at;
// - m.device_list_update EDUs, one per changed device, "to all the servers who share a room with
//   a given local user", in a sequence per user: each takes the next stream_id and names the one
//   before in prev_id (sent in series, so one prev_id);
// - m.signing_key_update EDUs when the user's master or self-signing key changes.
// Device names go to other servers only when allowed (Synapse's
// allow_device_name_lookup_over_federation, false by default): the spec lets them out
// (unsigned.device_display_name, device_display_name) but does not require it, and they often
// say more about a person than the keys do.
import { serverNameOf } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { DeviceListFederationStore } from "../../storage/stores/device-list-federation.ts";
import type { CrossSigningService } from "./cross-signing-service.ts";
import type { DeviceKeyService } from "./device-key-service.ts";
import { withSignatures } from "./key-objects.ts";

/** An EDU for another server. */
export interface OutboundEdu {
  readonly edu_type: string;
  readonly content: JsonObject;
}

/** Who hears about a user's devices, and how EDUs leave. */
export interface DeviceListUpdatesDeps {
  readonly serverName: string;
  readonly store: DeviceListFederationStore;
  readonly deviceKeys: DeviceKeyService;
  readonly crossSigning: CrossSigningService;
  readonly devices: { listDevices(userId: string): Promise<readonly { readonly deviceId: string; readonly displayName: string | null }[]> };
  /** The users joined to a room the user is joined to. */
  readonly usersSharingRoomWith: (userId: string) => Promise<Set<string>>;
  /** Queues an EDU for a server (the federation sender). */
  readonly send: (destination: string, edu: OutboundEdu) => void;
  /** Whether device display names are shared with other servers (default false). */
  readonly allowDeviceNamesOverFederation?: boolean;
  readonly onError?: (error: unknown, what: string) => void;
}

/** What another server is told of one device (user_devices.yaml `devices` items). */
interface DeviceView {
  readonly deviceId: string;
  readonly keys: JsonObject | undefined;
  readonly displayName: string | undefined;
}

export class DeviceListUpdates {
  readonly #d: DeviceListUpdatesDeps;
  /** One user's updates at a time, so EDUs leave in stream_id order. */
  readonly #tails = new Map<string, Promise<void>>();

  constructor(deps: DeviceListUpdatesDeps) {
    this.#d = deps;
  }

  /**
   * The user's devices changed (added, deleted, renamed, keys uploaded or newly signed): an
   * m.device_list_update per device to every server sharing a room with the user. Never throws.
   */
  devicesChanged(userId: string, deviceIds: readonly string[]): Promise<void> {
    const unique = [...new Set(deviceIds)];
    if (unique.length === 0 || serverNameOf(userId) !== this.#d.serverName) return Promise.resolve();
    return this.#serially(userId, "sending device list updates", async () => {
      // The changes are committed: the stream_ids taken now cover them (GET /user/devices reads
      // the stream_id before the devices, so a snapshot at or past these includes them).
      const last = await this.#d.store.takeOutboundStreamIds(userId, unique.length);
      const destinations = await this.#destinations(userId);
      if (destinations.length === 0) return;
      const views = await this.#deviceViews(userId, unique);
      unique.forEach((deviceId, i) => {
        const streamId = last - unique.length + 1 + i;
        const view = views.get(deviceId);
        // m.device_list_update.yaml: prev_id "May be missing or empty for the first EDU in a sequence".
        const content: JsonObject = { user_id: userId, device_id: deviceId, stream_id: streamId, prev_id: streamId > 1 ? [streamId - 1] : [] };
        if (view === undefined) content["deleted"] = true;
        else {
          if (view.keys !== undefined) content["keys"] = view.keys;
          if (view.displayName !== undefined) content["device_display_name"] = view.displayName;
        }
        for (const destination of destinations) this.#d.send(destination, { edu_type: "m.device_list_update", content });
      });
    });
  }

  /** The user's master or self-signing key changed: m.signing_key_update to the servers sharing a room. Never throws. */
  signingKeysChanged(userId: string): Promise<void> {
    if (serverNameOf(userId) !== this.#d.serverName) return Promise.resolve();
    return this.#serially(userId, "sending signing key updates", async () => {
      const destinations = await this.#destinations(userId);
      if (destinations.length === 0) return;
      const view = await this.#d.crossSigning.keysFor(undefined, [userId]);
      const content: JsonObject = { user_id: userId };
      const master = view.masterKeys.get(userId);
      const selfSigning = view.selfSigningKeys.get(userId);
      if (master !== undefined) content["master_key"] = master;
      if (selfSigning !== undefined) content["self_signing_key"] = selfSigning;
      for (const destination of destinations) this.#d.send(destination, { edu_type: "m.signing_key_update", content });
    });
  }

  /** user_devices.yaml GET /user/devices/{userId}, for a local user. */
  async userDevices(userId: string): Promise<JsonObject> {
    // The stream_id first: every change it covers is committed, so the devices read next hold them.
    const streamId = await this.#d.store.outboundStreamId(userId);
    const devices = await this.#d.devices.listDevices(userId);
    const views = await this.#deviceViews(
      userId,
      devices.map((d) => d.deviceId),
    );
    const crossSigning = await this.#d.crossSigning.keysFor(undefined, [userId]);
    const out: JsonObject[] = [];
    for (const view of [...views.values()].sort((x, y) => (x.deviceId < y.deviceId ? -1 : 1))) {
      // `keys` is required: a device that uploaded none has nothing to encrypt to yet.
      if (view.keys === undefined) continue;
      out.push({ device_id: view.deviceId, keys: view.keys, ...(view.displayName === undefined ? {} : { device_display_name: view.displayName }) });
    }
    const answer: JsonObject = { user_id: userId, stream_id: streamId, devices: out };
    const master = crossSigning.masterKeys.get(userId);
    const selfSigning = crossSigning.selfSigningKeys.get(userId);
    if (master !== undefined) answer["master_key"] = master;
    if (selfSigning !== undefined) answer["self_signing_key"] = selfSigning;
    return answer;
  }

  /** Resolves once the updates started so far have been queued (tests). */
  async settled(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }

  // The devices that exist, with their keys as other servers see them (signatures by the owner's
  // keys only, no unsigned names unless allowed).
  async #deviceViews(userId: string, deviceIds: readonly string[]): Promise<Map<string, DeviceView>> {
    const [devices, keys, crossSigning] = await Promise.all([
      this.#d.devices.listDevices(userId),
      this.#d.deviceKeys.forUsers(new Map([[userId, [...deviceIds]]])),
      this.#d.crossSigning.keysFor(undefined, [userId]),
    ]);
    const wanted = new Set(deviceIds);
    const keysOf = new Map(keys.map((k) => [k.deviceId, k.keys]));
    const names = this.#d.allowDeviceNamesOverFederation === true;
    const views = new Map<string, DeviceView>();
    for (const device of devices) {
      if (!wanted.has(device.deviceId)) continue;
      const stored = keysOf.get(device.deviceId);
      const signatures = crossSigning.deviceSignatures.get(userId)?.get(device.deviceId) ?? new Map();
      views.set(device.deviceId, {
        deviceId: device.deviceId,
        keys: stored === undefined ? undefined : withSignatures(stored, signatures),
        displayName: names && device.displayName !== null ? device.displayName : undefined,
      });
    }
    return views;
  }

  /** The other servers with a member sharing a room with the user. */
  async #destinations(userId: string): Promise<string[]> {
    const servers = new Set<string>();
    for (const member of await this.#d.usersSharingRoomWith(userId)) {
      const server = serverNameOf(member);
      if (server !== undefined && server !== this.#d.serverName) servers.add(server);
    }
    return [...servers].sort();
  }

  #serially(userId: string, what: string, run: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(userId) ?? Promise.resolve();
    const next = previous.then(run).catch((error: unknown) => (this.#d.onError ?? (() => undefined))(error, what));
    this.#tails.set(userId, next);
    void next.then(() => {
      if (this.#tails.get(userId) === next) this.#tails.delete(userId);
    });
    return next;
  }
}
