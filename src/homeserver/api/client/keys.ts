// The key management API (modules/end_to_end_encryption.md#key-management-api): keys.yaml.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { KeysService } from "../../e2ee/keys-service.ts";
import { nonGuestRequesterOf, queryParam, requesterOf } from "./requester.ts";

interface UploadBody {
  device_keys?: JsonObject;
  one_time_keys?: JsonObject;
  fallback_keys?: JsonObject;
}

interface QueryBody {
  device_keys: Record<string, string[]>;
  timeout?: number;
}

interface ClaimBody {
  one_time_keys: Record<string, Record<string, string>>;
  timeout?: number;
}

export function keysEndpoints(keys: KeysService): Endpoint[] {
  // Guests may use upload, query and claim (modules/guest_access.md); keys/changes is not listed.
  const upload: Endpoint<UploadBody> = {
    name: "client.keys_upload",
    method: "POST",
    paths: clientPaths("/keys/upload"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: {
        // definitions/device_keys.yaml; its required fields are checked by checkDeviceKeys, which
        // answers M_BAD_JSON rather than the schema's M_MISSING_PARAM.
        device_keys: {
          type: "object",
          properties: {
            user_id: { type: "string" },
            device_id: { type: "string" },
            algorithms: { type: "array", items: { type: "string" } },
            keys: { type: "object", additionalProperties: { type: "string" } },
            signatures: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "string" } } },
          },
        },
        one_time_keys: { type: "object" },
        fallback_keys: { type: "object" },
      },
    },
    handler: async (req) => await keys.upload(requesterOf(req), req.body),
  };

  const query: Endpoint<QueryBody> = {
    name: "client.keys_query",
    method: "POST",
    paths: clientPaths("/keys/query"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["device_keys"],
      properties: {
        timeout: { type: "integer" },
        device_keys: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
      },
    },
    handler: async (req) => await keys.query(requesterOf(req), req.body.device_keys, req.body.timeout),
  };

  const claim: Endpoint<ClaimBody> = {
    name: "client.keys_claim",
    method: "POST",
    paths: clientPaths("/keys/claim"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["one_time_keys"],
      properties: {
        timeout: { type: "integer" },
        one_time_keys: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "string" } } },
      },
    },
    handler: async (req) => await keys.claim(req.body.one_time_keys, req.body.timeout),
  };

  const changes: Endpoint = {
    name: "client.keys_changes",
    method: "GET",
    paths: clientPaths("/keys/changes"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const from = queryParam(req, "from");
      const to = queryParam(req, "to");
      if (from === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: from", 400);
      if (to === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: to", 400);
      const { changed, left } = await keys.changes(nonGuestRequesterOf(req), from, to);
      return { changed, left };
    },
  };

  return [upload, query, claim, changes];
}
