// Synapse's admin API for logging in as a user: POST /_synapse/admin/v1/users/{userId}/login
// answers an access token of that user of ours, on no device (devices/device-service.ts
// createDevicelessToken), valid until `valid_until_ms` when given. Server admins only; an admin
// does not log in as themself this way.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import { requesterOf } from "../client/requester.ts";
import { localUserIdParam } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

export interface LoginAsSources {
  readonly serverName: string;
  readonly isAdmin: IsAdmin;
  /** Whether the account exists and is not deactivated. */
  isActive(userId: string): Promise<boolean>;
  createDevicelessToken(userId: string, expiresTs: number | undefined): Promise<string>;
  readonly now?: () => number;
}

export function loginAsAdminEndpoints(sources: LoginAsSources): Endpoint[] {
  const login: Endpoint<JsonObject> = {
    name: "admin.login_as_user",
    method: "POST",
    paths: ["/_synapse/admin/v1/users/:userId/login"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { valid_until_ms: { type: "integer" } } },
    handler: async (req) => {
      await requireAdmin(req, sources.isAdmin);
      const userId = localUserIdParam(req, sources.serverName);
      if (userId === requesterOf(req).userId) throw new MatrixError("M_UNKNOWN", "Cannot use admin API to login as self", 400);
      if (!(await sources.isActive(userId))) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
      const validUntil = req.body["valid_until_ms"] as number | undefined;
      if (validUntil !== undefined && validUntil <= (sources.now ?? Date.now)()) throw new MatrixError("M_INVALID_PARAM", "valid_until_ms is in the past", 400);
      return { access_token: await sources.createDevicelessToken(userId, validUntil) };
    },
  };
  return [login];
}
