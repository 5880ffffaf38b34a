// The federation side of end-to-end encryption (server-server-api#end-to-end-encryption,
// #send-to-device-messaging): other servers' users' keys asked over federation, to-device
// messages sent as m.direct_to_device EDUs and received from them.
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RemoteKeyQuerier } from "../e2ee/keys-service.ts";
import type { DirectToDeviceEdu, RemoteToDeviceSender } from "../e2ee/to-device-service.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

export interface KeysClient {
  post(destination: string, path: string, body: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject>;
}

/** user_keys.yaml: /user/keys/query and /user/keys/claim. */
export function remoteKeyQuerier(client: KeysClient): RemoteKeyQuerier {
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
