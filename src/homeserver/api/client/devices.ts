// modules/device_management.md: device_management.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { Device } from "../../../storage/stores/devices.ts";
import type { DeviceService } from "../../devices/device-service.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

/**
 * definitions/client_device.yaml: absent fields rather than nulls. `user_id` is not in the schema
 * (which allows more properties), but Sytest's device tests require it, as Synapse serves it.
 */
export function deviceJson(d: Device): JsonObject {
  const out: JsonObject = { device_id: d.deviceId, user_id: d.userId };
  if (d.displayName !== null) out["display_name"] = d.displayName;
  if (d.lastSeenIp !== null) out["last_seen_ip"] = d.lastSeenIp;
  if (d.lastSeenTs !== null) out["last_seen_ts"] = d.lastSeenTs;
  return out;
}

const authSchema = { type: "object", properties: { auth: { type: "object" } } };

export function deviceEndpoints(devices: DeviceService): Endpoint[] {
  const list: Endpoint = {
    name: "client.devices",
    method: "GET",
    paths: clientPaths("/devices"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ devices: (await devices.listDevices(requesterOf(req).userId)).map(deviceJson) }),
  };

  const get: Endpoint = {
    name: "client.device",
    method: "GET",
    paths: clientPaths("/devices/:deviceId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => deviceJson(await devices.getDevice(requesterOf(req).userId, req.params["deviceId"] ?? "")),
  };

  const update: Endpoint<{ display_name?: string }> = {
    name: "client.update_device",
    method: "PUT",
    paths: clientPaths("/devices/:deviceId"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { display_name: { type: "string" } } },
    handler: async (req) => {
      await devices.updateDevice(requesterOf(req).userId, req.params["deviceId"] ?? "", { displayName: req.body.display_name });
      return {};
    },
  };

  const remove: Endpoint<JsonObject> = {
    name: "client.delete_device",
    method: "DELETE",
    paths: clientPaths("/devices/:deviceId"),
    resource: "client",
    auth: "accessToken",
    body: "json",
    schema: authSchema,
    handler: async (req) => {
      const deviceId = req.params["deviceId"] ?? "";
      await devices.deleteDevicesWithAuth(nonGuestRequesterOf(req), [deviceId], req.body, `DELETE /devices/${deviceId}`);
      return {};
    },
  };

  const removeMany: Endpoint<{ devices: string[] } & JsonObject> = {
    name: "client.delete_devices",
    method: "POST",
    paths: clientPaths("/delete_devices"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["devices"],
      properties: { devices: { type: "array", items: { type: "string" }, maxItems: 1000 }, auth: { type: "object" } },
    },
    handler: async (req) => {
      await devices.deleteDevicesWithAuth(nonGuestRequesterOf(req), req.body.devices, req.body, "POST /delete_devices");
      return {};
    },
  };

  return [list, get, update, remove, removeMany];
}
