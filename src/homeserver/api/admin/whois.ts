// GET /_matrix/client/v3/admin/whois/{userId} (admin.yaml): a user's devices, each with its last
// connection (address, time, client). For server admins, and for users looking themselves up (the
// spec lets servers allow just those two). Served at Synapse's admin path too, where its tools ask.
import { MatrixError } from "../../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../../core/identifiers/index.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { Device } from "../../../storage/stores/devices.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { DeviceService } from "../../devices/device-service.ts";
import type { UserService } from "../../users/user-service.ts";
import { pathParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { requireAdmin } from "./require-admin.ts";

export function whoisEndpoint(users: UserService, devices: DeviceService, serverName: string): Endpoint {
  return {
    name: "admin.whois",
    method: "GET",
    paths: [...clientPaths("/admin/whois/:userId"), "/_synapse/admin/v1/whois/:userId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const userId = pathParam(req, "userId");
      // As the other admin endpoints: authorisation before any lookup, so that nobody is found out by asking.
      if (userId !== requesterOf(req).userId) await requireAdmin(req, (id) => users.isAdmin(id));
      if (parseUserId(userId) === undefined || serverNameOf(userId) !== serverName) {
        throw new MatrixError("M_INVALID_PARAM", "User does not belong to the local server", 400);
      }
      const user = await users.getUser(userId);
      if (user === undefined || user.deactivated) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
      const byDevice: JsonObject = {};
      // One session a device: a device is one login here (logging in again names a new device or
      // revokes the device's earlier tokens).
      for (const device of await devices.listDevices(userId)) byDevice[device.deviceId] = { sessions: [{ connections: connectionsOf(device) }] };
      return { user_id: userId, devices: byDevice };
    },
  };
}

/** The device's last connection, if it was ever seen. */
function connectionsOf(device: Device): JsonObject[] {
  if (device.lastSeenIp === null || device.lastSeenTs === null) return [];
  const connection: JsonObject = { ip: device.lastSeenIp, last_seen: device.lastSeenTs };
  if (device.lastSeenUserAgent !== null) connection["user_agent"] = device.lastSeenUserAgent;
  return [connection];
}
