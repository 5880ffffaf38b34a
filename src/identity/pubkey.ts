// identity-service-api#key-management (v2_pubkey.yaml): the service's long-term keys, and whether
// a public key is one of them or one of the ephemeral keys of stored invitations.
import { decodeBase64, encodeUnpaddedBase64 } from "../core/crypto/base64.ts";
import type { SigningKey } from "../core/crypto/ed25519.ts";
import { MatrixError } from "../core/errors.ts";
import { type AnyIdentityEndpoint, type IdentityEndpoint, queryParam } from "./http.ts";
import type { IdentityStore } from "./store.ts";

/**
 * A public key as given, in the standard unpadded base64 the service publishes; /store-invite's
 * keys "may use the standard or URL-safe alphabets" when they come back.
 */
function normalisedKey(given: string): string | undefined {
  const bytes = decodeBase64(given);
  return bytes?.length === 32 ? encodeUnpaddedBase64(bytes) : undefined;
}

const PUBLIC_KEY_QUERY = { type: "object", properties: { public_key: { type: "string" } }, required: ["public_key"] };

export function pubkeyEndpoints(keys: readonly SigningKey[], store: IdentityStore): AnyIdentityEndpoint[] {
  const get: IdentityEndpoint<undefined> = {
    name: "pubkey",
    method: "GET",
    path: "/pubkey/:keyId",
    auth: "none",
    handler: async (request) => {
      const key = keys.find((k) => k.keyId === request.params["keyId"]);
      if (key === undefined) throw new MatrixError("M_NOT_FOUND", "The public key was not found", 404);
      return { public_key: key.publicKeyBase64 };
    },
  };
  const isValid: IdentityEndpoint<undefined> = {
    name: "pubkey.isvalid",
    method: "GET",
    path: "/pubkey/isvalid",
    auth: "none",
    schema: PUBLIC_KEY_QUERY,
    handler: async (request) => {
      const key = normalisedKey(queryParam(request, "public_key") as string);
      return { valid: key !== undefined && keys.some((k) => k.publicKeyBase64 === key) };
    },
  };
  const ephemeralIsValid: IdentityEndpoint<undefined> = {
    name: "pubkey.ephemeral.isvalid",
    method: "GET",
    path: "/pubkey/ephemeral/isvalid",
    auth: "none",
    schema: PUBLIC_KEY_QUERY,
    handler: async (request) => {
      const key = normalisedKey(queryParam(request, "public_key") as string);
      return { valid: key !== undefined && (await store.isEphemeralKey(key)) };
    },
  };
  return [get, isValid, ephemeralIsValid];
}
