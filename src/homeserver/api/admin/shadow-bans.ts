// Synapse's admin API for shadow bans: POST /_synapse/admin/v1/users/{userId}/shadow_ban bans a
// user of ours (users/shadow-bans.ts says what that does), DELETE lifts it. Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { ShadowBans } from "../../users/shadow-bans.ts";
import { localUserIdParam } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

export function shadowBanAdminEndpoints(
  shadowBans: ShadowBans,
  serverName: string,
  isAdmin: IsAdmin,
  userExists: (userId: string) => Promise<boolean>,
): Endpoint[] {
  const endpoint = (method: "POST" | "DELETE"): Endpoint => ({
    name: method === "POST" ? "admin.shadow_ban" : "admin.unshadow_ban",
    method,
    paths: ["/_synapse/admin/v1/users/:userId/shadow_ban"],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = localUserIdParam(req, serverName);
      if (!(await userExists(userId))) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
      await shadowBans.set(userId, method === "POST");
      return {};
    },
  });
  return [endpoint("POST"), endpoint("DELETE")];
}
