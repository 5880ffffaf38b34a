// The federation side of end-to-end encryption (server-server-api#end-to-end-encryption,
// #device-management, #send-to-device-messaging): other servers' users' keys and device lists
// asked over federation, device-list and signing-key updates received as EDUs, to-device
// messages sent as m.direct_to_device EDUs and received from them.
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RemoteKeyQuerier } from "../e2ee/keys-service.ts";
import type { UserDevicesFetcher } from "../e2ee/remote-device-lists.ts";
import type { DirectToDeviceEdu, RemoteToDeviceSender } from "../e2ee/to-device-service.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

export interface KeysClient {
  get(destination: string, path: string, options?: { timeoutMs?: number }): Promise<JsonObject>;
  post(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject>;
}

/** user_keys.yaml: /user/keys/query and /user/keys/claim. */
export function remoteKeyQuerier(client: Pick<KeysClient, "post">): RemoteKeyQuerier {
  return {
    queryKeys: (destination, deviceKeys, timeoutMs) =>
      client.post(destination, "/_matrix/federation/v1/user/keys/query", { device_keys: deviceKeys }, { timeoutMs }),
    claimKeys: (destination, oneTimeKeys, timeoutMs) =>
      client.post(destination, "/_matrix/federation/v1/user/keys/claim", { one_time_keys: oneTimeKeys }, { timeoutMs }),
  };
}

/** To-device messages for another server's users go out as an m.direct_to_device EDU. */
export function remoteToDeviceSender(enqueueEdu: (destination: string, edu: Edu) => void): RemoteToDeviceSender {
  return {
    send: async (destination, edu) => {
      enqueueEdu(destination, { edu_type: "m.direct_to_device", content: { ...edu } as unknown as JsonObject });
    },
  };
}

/**
 * m.direct_to_device EDUs received, checked before they are stored: the sender must be a user of
 * the server that sent them (m.direct_to_device.yaml: "User ID of the sender").
 */
export function directToDeviceHandler(receive: (origin: string, edu: DirectToDeviceEdu) => Promise<void>): EduHandler {
  return async (origin, content) => {
    const { sender, type, message_id: messageId, messages } = content;
    if (typeof sender !== "string" || serverNameOf(sender) !== origin) return;
    if (typeof type !== "string" || typeof messageId !== "string" || !isJsonObject(messages)) return;
    for (const byDevice of Object.values(messages)) if (!isJsonObject(byDevice)) return;
    await receive(origin, { sender, type, message_id: messageId, messages: messages as DirectToDeviceEdu["messages"] });
  };
}

/** user_devices.yaml: GET /user/devices/{userId}, asked of the user's own server. */
export function userDevicesFetcher(client: Pick<KeysClient, "get">): UserDevicesFetcher {
  return async (userId, timeoutMs) => {
    const server = serverNameOf(userId);
    if (server === undefined) throw new Error(`${userId} is not a user ID`);
    return await client.get(server, `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`, timeoutMs === undefined ? {} : { timeoutMs });
  };
}

/** What m.device_list_update and m.signing_key_update EDUs received are handed to. */
export interface DeviceListEduReceiver {
  receiveDeviceListUpdate(origin: string, content: JsonObject): Promise<void>;
  receiveSigningKeyUpdate(origin: string, content: JsonObject): Promise<void>;
}

/** The EDU handlers of device lists, by EDU type (the receiver checks the content itself). */
export function deviceListEduHandlers(receiver: DeviceListEduReceiver): ReadonlyMap<string, EduHandler> {
  return new Map<string, EduHandler>([
    ["m.device_list_update", (origin, content) => receiver.receiveDeviceListUpdate(origin, content)],
    ["m.signing_key_update", (origin, content) => receiver.receiveSigningKeyUpdate(origin, content)],
  ]);
}
