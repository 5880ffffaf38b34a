// /_matrix/federation/v1/3pid/onbind (third_party_invite.yaml): an identity server tells us that
// one of our users bound a 3PID, with the invites that 3PID had pending. No X-Matrix: identity
// servers have no server keys to sign with here, so the body is taken as anyone's and checked.
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint, JsonSchema } from "../../../http/endpoint.ts";
import { MAX_ONBIND_INVITES, type ThirdPartyInviteService } from "../../rooms/third-party-invites.ts";

// The top level of the request body; each invite is checked by the service (M_INVALID_PARAM).
const onBindSchema: JsonSchema = {
  type: "object",
  properties: {
    medium: { type: "string" },
    address: { type: "string" },
    mxid: { type: "string" },
    invites: { type: "array", maxItems: MAX_ONBIND_INVITES },
  },
  required: ["medium", "address", "mxid", "invites"],
};

interface OnBindBody {
  medium: string;
  address: string;
  mxid: string;
  invites: unknown[];
}

export function thirdPartyOnBindEndpoints(thirdPartyInvites: ThirdPartyInviteService): Endpoint[] {
  const onBind = (method: "PUT" | "POST"): Endpoint<OnBindBody> => ({
    name: `federation.3pid_onbind_${method.toLowerCase()}`,
    method,
    paths: ["/_matrix/federation/v1/3pid/onbind"],
    resource: "federation",
    auth: "none",
    schema: onBindSchema,
    handler: async (req): Promise<JsonObject> => {
      await thirdPartyInvites.onBind({ mxid: req.body.mxid, invites: req.body.invites });
      return {};
    },
  });
  // third_party_invite.yaml documents PUT; identity-service-api#invitation-storage says the identity
  // server makes "an HTTP POST", which is what identity servers send. Both are answered.
  return [onBind("POST") as Endpoint, onBind("PUT") as Endpoint];
}
