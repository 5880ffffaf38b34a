// Send-to-device messaging (modules/send_to_device.md): messages for local devices are stored
// until the device acknowledges them (its next /sync with the token that delivered them), handed
// out in order of arrival, at most a bounded number per /sync; messages for other servers' users
// go to the federation sender (the m.direct_to_device EDU of server-server-api#send-to-device-messaging).
import { randomBytes } from "node:crypto";
import { MatrixError } from "../../core/errors.ts";
import { utf8Length } from "../../core/identifiers/common.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { ToDeviceDelivery, ToDeviceStore } from "../../storage/stores/to-device.ts";
import type { DeviceLister } from "./cross-signing-service.ts";
import type { StreamNotifier } from "./device-list-service.ts";

export interface ToDeviceBatch {
  readonly events: JsonObject[];
  /**
   * The position the device has now been given everything up to: the last event's when the batch
   * was cut at `limit`, else the stream's position when it was read (at least afterPosition).
   */
  readonly lastPosition: number;
}

/** server-server-api#send-to-device-messaging: the EDU's content, for one destination. */
export interface DirectToDeviceEdu {
  readonly sender: string;
  readonly type: string;
  readonly message_id: string;
  readonly messages: Record<string, Record<string, JsonObject>>;
}

/** Where messages for other servers' users go (the federation sender, once it exists). */
export interface RemoteToDeviceSender {
  send(destination: string, edu: DirectToDeviceEdu): Promise<void>;
}

/** client-server-api#size-limits: event types are at most 255 bytes. */
const MAX_TYPE_BYTES = 255;
/** send_to_device.md: "100 messages is recommended as a reasonable limit" per /sync. */
export const TO_DEVICE_SYNC_LIMIT = 100;
const ALL_DEVICES = "*";

export interface ToDeviceServiceOptions {
  readonly remote?: RemoteToDeviceSender;
  readonly onError?: (error: unknown, what: string) => void;
}

export class ToDeviceService {
  readonly #store: ToDeviceStore;
  readonly #serverName: string;
  readonly #devices: DeviceLister;
  readonly #notifier: StreamNotifier;
  readonly #remote: RemoteToDeviceSender | undefined;
  readonly #onError: (error: unknown, what: string) => void;
  #position: number;

  private constructor(store: ToDeviceStore, serverName: string, devices: DeviceLister, notifier: StreamNotifier, position: number, options: ToDeviceServiceOptions) {
    this.#store = store;
    this.#serverName = serverName;
    this.#devices = devices;
    this.#notifier = notifier;
    this.#position = position;
    this.#remote = options.remote;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Loads the stream's position. */
  static async create(store: ToDeviceStore, serverName: string, devices: DeviceLister, notifier: StreamNotifier, options: ToDeviceServiceOptions = {}): Promise<ToDeviceService> {
    return new ToDeviceService(store, serverName, devices, notifier, await store.maxStreamId(), options);
  }

  /** The stream's current position: every message at or below it is committed. */
  position(): number {
    return this.#position;
  }

  /**
   * PUT /sendToDevice/{eventType}/{txnId}. The same transaction ID from the same device is applied
   * once (client-server-api#transaction-identifiers); a retry answers the same, delivering nothing.
   */
  async send(requester: Requester, eventType: string, txnId: string, messages: JsonObject): Promise<void> {
    if (eventType.length === 0 || utf8Length(eventType) > MAX_TYPE_BYTES) throw new MatrixError("M_INVALID_PARAM", `Event types are 1 to ${MAX_TYPE_BYTES} bytes`, 400);
    const sender = requester.userId;
    const local: ToDeviceDelivery[] = [];
    const remote = new Map<string, Record<string, Record<string, JsonObject>>>();
    for (const [userId, byDevice] of Object.entries(messages)) {
      if (parseUserId(userId) === undefined) throw new MatrixError("M_INVALID_PARAM", `${userId} is not a user ID`, 400);
      if (!isJsonObject(byDevice)) throw new MatrixError("M_BAD_JSON", "messages must map user IDs to maps of device IDs to contents", 400);
      for (const content of Object.values(byDevice)) {
        if (!isJsonObject(content)) throw new MatrixError("M_BAD_JSON", "Each message content must be an object", 400);
      }
      const server = serverNameOf(userId) ?? "";
      if (server !== this.#serverName) {
        const forServer = remote.get(server) ?? {};
        forServer[userId] = byDevice as Record<string, JsonObject>;
        remote.set(server, forServer);
        continue;
      }
      local.push(...(await this.#localDeliveries(sender, eventType, userId, byDevice as Record<string, JsonObject>)));
    }
    // client-server-api#transaction-identifiers: a retransmission has the same transaction ID "and the
    // path of the HTTP request is the same", so the event type (in the path) scopes the ID too.
    const transaction = `${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
    const position = await this.#store.enqueue({ userId: sender, deviceId: requester.deviceId ?? "", txnId: transaction }, local);
    if (position === undefined) return; // a retry of a transaction applied already
    if (local.length > 0) {
      if (position > this.#position) this.#position = position;
      this.#notifier.notify("toDevice", position, { userIds: [...new Set(local.map((d) => d.userId))] });
    }
    for (const [destination, byUser] of remote) {
      if (this.#remote === undefined) {
        this.#onError(new Error(`no federation sender: to-device messages for ${destination} are dropped`), "sending to-device messages");
        continue;
      }
      const edu: DirectToDeviceEdu = { sender, type: eventType, message_id: randomBytes(12).toString("base64url"), messages: byUser };
      this.#remote.send(destination, edu).catch((error: unknown) => this.#onError(error, "sending to-device messages"));
    }
  }

  /**
   * Stores messages received over federation (the federation receiver's m.direct_to_device EDU);
   * deduplicated by the origin's message_id.
   */
  async receiveRemote(origin: string, edu: DirectToDeviceEdu): Promise<void> {
    const local: ToDeviceDelivery[] = [];
    for (const [userId, byDevice] of Object.entries(edu.messages)) {
      if (serverNameOf(userId) !== this.#serverName) continue;
      local.push(...(await this.#localDeliveries(edu.sender, edu.type, userId, byDevice)));
    }
    const position = await this.#store.enqueue({ userId: edu.sender, deviceId: `federation:${origin}`, txnId: edu.message_id }, local);
    if (position === undefined || local.length === 0) return;
    if (position > this.#position) this.#position = position;
    this.#notifier.notify("toDevice", position, { userIds: [...new Set(local.map((d) => d.userId))] });
  }

  /** The device's pending messages after `afterPosition`, in order of arrival, at most `limit`. */
  async messagesFor(userId: string, deviceId: string, afterPosition: number, limit: number = TO_DEVICE_SYNC_LIMIT): Promise<ToDeviceBatch> {
    const upTo = this.#position;
    const rows = await this.#store.pending(userId, deviceId, afterPosition, upTo, limit);
    const last = rows.at(-1);
    const lastPosition = rows.length >= limit && last !== undefined ? last.streamId : Math.max(afterPosition, upTo);
    return { events: rows.map((r) => r.message), lastPosition };
  }

  /** The device received every message up to `upToPosition` (send_to_device.md#server-behaviour): they are deleted. */
  async acknowledge(userId: string, deviceId: string, upToPosition: number): Promise<void> {
    if (upToPosition <= 0) return;
    await this.#store.deleteUpTo(userId, deviceId, upToPosition);
  }

  /** The devices are gone: so are their pending messages. */
  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    return this.#store.deleteDevices(userId, deviceIds);
  }

  /** Forgets transaction IDs older than `maxAgeMs`. */
  forgetTransactionsOlderThan(maxAgeMs: number, now = Date.now()): Promise<void> {
    return this.#store.deleteTransactionsBefore(now - maxAgeMs);
  }

  // One message per device (send_to_device.md: "Only one message can be sent to each device per
  // transaction"): a device named explicitly gets its own content, `*` covers the others; devices
  // the user does not have are skipped.
  async #localDeliveries(sender: string, type: string, userId: string, byDevice: Record<string, JsonObject>): Promise<ToDeviceDelivery[]> {
    const devices = (await this.#devices.listDevices(userId)).map((d) => d.deviceId);
    const out: ToDeviceDelivery[] = [];
    const all = byDevice[ALL_DEVICES];
    for (const deviceId of devices) {
      const content = Object.hasOwn(byDevice, deviceId) ? byDevice[deviceId] : all;
      if (content !== undefined) out.push({ userId, deviceId, message: { sender, type, content } });
    }
    return out;
  }
}
