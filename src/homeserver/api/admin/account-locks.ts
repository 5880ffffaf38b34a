// Account locking for server admins (admin.yaml, v1.18): GET and PUT /_matrix/client/v1/admin/lock/{userId}.
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { AccountLocks } from "../../users/account-locks.ts";
import { pathParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

const PATH = "/admin/lock/:userId";

export function accountLockEndpoints(locks: AccountLocks, isAdmin: IsAdmin): Endpoint[] {
  const get: Endpoint = {
    name: "admin.get_account_lock",
    method: "GET",
    paths: clientPaths(PATH, { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return await locks.get(requesterOf(req), pathParam(req, "userId"));
    },
  };

  const put: Endpoint<{ locked: boolean }> = {
    name: "admin.set_account_lock",
    method: "PUT",
    paths: clientPaths(PATH, { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["locked"], properties: { locked: { type: "boolean" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return await locks.set(requesterOf(req), pathParam(req, "userId"), req.body.locked);
    },
  };

  return [get, put];
}
