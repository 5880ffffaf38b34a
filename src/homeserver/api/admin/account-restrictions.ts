// Account locking and suspension for server admins (admin.yaml, v1.18): GET and PUT
// /_matrix/client/v1/admin/lock/{userId} ({locked}) and /admin/suspend/{userId} ({suspended}).
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { AccountRestrictions } from "../../users/account-restrictions.ts";
import { pathParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

/** Each kind's path segment and body field. */
const FORMS = {
  lock: { segment: "lock", field: "locked" },
  suspension: { segment: "suspend", field: "suspended" },
} as const;

export function accountRestrictionEndpoints(kind: keyof typeof FORMS, restrictions: AccountRestrictions, isAdmin: IsAdmin): Endpoint[] {
  const { segment, field } = FORMS[kind];
  const paths = clientPaths(`/admin/${segment}/:userId`, { versions: ["v1"], r0: false });
  const get: Endpoint = {
    name: `admin.get_account_${kind}`,
    method: "GET",
    paths,
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return { [field]: await restrictions.get(requesterOf(req), pathParam(req, "userId")) };
    },
  };

  const put: Endpoint<Record<string, boolean>> = {
    name: `admin.set_account_${kind}`,
    method: "PUT",
    paths,
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: [field], properties: { [field]: { type: "boolean" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return { [field]: await restrictions.set(requesterOf(req), pathParam(req, "userId"), req.body[field] === true) };
    },
  };

  return [get, put];
}
