// POST /_matrix/federation/v1/user/keys/query and /user/keys/claim (user_keys.yaml): this
// server's users' keys for another server ("Requested users must be local to the receiving
// homeserver": others are left out of the answer).
import type { Endpoint } from "../../../http/endpoint.ts";
import type { KeysService } from "../../e2ee/keys-service.ts";
import { originOf } from "./origin.ts";

interface QueryBody {
  device_keys: Record<string, string[]>;
}

interface ClaimBody {
  one_time_keys: Record<string, Record<string, string>>;
}

export function userKeysEndpoints(keys: KeysService): Endpoint[] {
  const query: Endpoint<QueryBody> = {
    name: "federation.user_keys_query",
    method: "POST",
    paths: ["/_matrix/federation/v1/user/keys/query"],
    resource: "federation",
    auth: "federation",
    schema: {
      type: "object",
      required: ["device_keys"],
      properties: { device_keys: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } } },
    },
    handler: async (req) => {
      originOf(req);
      return await keys.queryForServer(req.body.device_keys);
    },
  };
  const claim: Endpoint<ClaimBody> = {
    name: "federation.user_keys_claim",
    method: "POST",
    paths: ["/_matrix/federation/v1/user/keys/claim"],
    resource: "federation",
    auth: "federation",
    schema: {
      type: "object",
      required: ["one_time_keys"],
      properties: { one_time_keys: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "string" } } } },
    },
    handler: async (req) => {
      originOf(req);
      return await keys.claimForServer(req.body.one_time_keys);
    },
  };
  return [query, claim];
}
