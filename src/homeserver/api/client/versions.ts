import type { Endpoint } from "../../../http/endpoint.ts";

// client-server-api#api-versions: the spec versions whose endpoint shapes Weft follows. Endpoints that
// are not built yet answer M_UNRECOGNIZED, which the spec lets clients handle per endpoint; the
// README's table says which parts work. matrix-js-sdk and Element require at least v1.1.
export const SUPPORTED_SPEC_VERSIONS: readonly string[] = [
  "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
  ...Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`),
];

const VERSIONS_BODY = { versions: [...SUPPORTED_SPEC_VERSIONS], unstable_features: {} };

export const versionsEndpoint: Endpoint = {
  name: "client.versions",
  method: "GET",
  paths: ["/_matrix/client/versions"],
  resource: "client",
  auth: "optionalAccessToken",
  handler: async () => VERSIONS_BODY,
};
