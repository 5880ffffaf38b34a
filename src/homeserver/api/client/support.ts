// GET /.well-known/matrix/support (client-server support.yaml, added in v1.10): how to reach the
// server's admins, from `support_contacts` and `support_page`. Beside /.well-known/matrix/client
// (well-known.ts), served on the same resource and, like it, without authentication.
import type { ServerSupportConfig } from "../../../config/index.ts";
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";

export function supportWellKnownEndpoint(support: ServerSupportConfig | undefined): Endpoint {
  // Built once: the answer only changes with the config.
  const answer = support === undefined ? undefined : supportAnswer(support);
  return {
    name: "client.well_known_support",
    method: "GET",
    paths: ["/.well-known/matrix/support"],
    resource: "client",
    auth: "none",
    handler: async () => {
      // support.yaml: 404 "No server support information available".
      if (answer === undefined) throw new MatrixError("M_NOT_FOUND", "No support information configured", 404);
      return answer;
    },
  };
}

/** support.yaml's body: `contacts` only when there is one (an empty list is not allowed), `support_page` when set. */
export function supportAnswer(support: ServerSupportConfig): JsonObject {
  const contacts = support.contacts.map((c) => ({
    ...(c.matrixId === undefined ? {} : { matrix_id: c.matrixId }),
    ...(c.emailAddress === undefined ? {} : { email_address: c.emailAddress }),
    role: c.role,
  }));
  return {
    ...(contacts.length === 0 ? {} : { contacts }),
    ...(support.page === undefined ? {} : { support_page: support.page }),
  };
}
