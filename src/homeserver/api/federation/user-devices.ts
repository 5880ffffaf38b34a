// GET /_matrix/federation/v1/user/devices/{userId} (user_devices.yaml): a user's devices, for
// another server's device-list cache (server-server-api#device-management).
import { MatrixError } from "../../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../../core/identifiers/index.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { DeviceListUpdates } from "../../e2ee/device-list-updates.ts";
import { originOf } from "./origin.ts";

export function userDevicesEndpoints(serverName: string, updates: DeviceListUpdates): Endpoint[] {
  const devices: Endpoint = {
    name: "federation.user_devices",
    method: "GET",
    paths: ["/_matrix/federation/v1/user/devices/:userId"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      originOf(req);
      const userId = req.params["userId"] ?? "";
      if (parseUserId(userId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid user ID", 400);
      // user_devices.yaml: "Must be a user local to the receiving homeserver."
      if (serverNameOf(userId) !== serverName) throw new MatrixError("M_INVALID_PARAM", "The user is not of this server", 400);
      return await updates.userDevices(userId);
    },
  };
  return [devices];
}
