// Send-to-device messaging (modules/send_to_device.md): to_device.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { ToDeviceService } from "../../e2ee/to-device-service.ts";
import { requesterOf } from "./requester.ts";

export function toDeviceEndpoints(toDevice: ToDeviceService): Endpoint[] {
  // Guests may send to-device messages (modules/guest_access.md).
  const send: Endpoint<{ messages: JsonObject }> = {
    name: "client.send_to_device",
    method: "PUT",
    paths: clientPaths("/sendToDevice/:eventType/:txnId"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["messages"],
      properties: { messages: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "object" } } } },
    },
    handler: async (req) => {
      await toDevice.send(requesterOf(req), req.params["eventType"] ?? "", req.params["txnId"] ?? "", req.body.messages);
      return {};
    },
  };
  return [send];
}
