// Cross-signing (modules/end_to_end_encryption.md#cross-signing): cross_signing.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { CrossSigningService } from "../../e2ee/cross-signing-service.ts";
import { nonGuestRequesterOf } from "./requester.ts";

const crossSigningKey = { type: "object", required: ["user_id", "usage", "keys"] };

export function crossSigningEndpoints(crossSigning: CrossSigningService): Endpoint[] {
  const uploadKeys: Endpoint<JsonObject> = {
    name: "client.keys_device_signing_upload",
    method: "POST",
    // Added in v1.1: no r0 path.
    paths: clientPaths("/keys/device_signing/upload", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: {
        master_key: crossSigningKey,
        self_signing_key: crossSigningKey,
        user_signing_key: crossSigningKey,
        auth: { type: "object" },
      },
    },
    handler: async (req) => {
      await crossSigning.uploadKeys(nonGuestRequesterOf(req), req.body);
      return {};
    },
  };

  const uploadSignatures: Endpoint<JsonObject> = {
    name: "client.keys_signatures_upload",
    method: "POST",
    paths: clientPaths("/keys/signatures/upload", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "object" } } },
    handler: async (req) => await crossSigning.uploadSignatures(nonGuestRequesterOf(req), req.body),
  };

  return [uploadKeys, uploadSignatures];
}
