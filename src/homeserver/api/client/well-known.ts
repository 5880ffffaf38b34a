import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";

export interface WellKnownSettings {
  /** client-server-api#well-known-uris: `m.homeserver.base_url`, from `public_baseurl`. */
  readonly clientBaseUrl: string | undefined;
  /** Extra keys for /.well-known/matrix/client (Synapse's `extra_well_known_client_content`). */
  readonly extraClientContent: JsonObject;
  /** server-server-api#getwell-knownmatrixserver: the `m.server` delegation, when served. */
  readonly serverDelegation: string | undefined;
}

export function wellKnownEndpoints(settings: WellKnownSettings): Endpoint[] {
  return [
    {
      name: "client.well_known",
      method: "GET",
      paths: ["/.well-known/matrix/client"],
      resource: "client",
      auth: "none",
      handler: async () => {
        if (settings.clientBaseUrl === undefined) throw new MatrixError("M_NOT_FOUND", "No .well-known configured", 404);
        return { ...settings.extraClientContent, "m.homeserver": { base_url: settings.clientBaseUrl } };
      },
    },
    {
      name: "federation.well_known",
      method: "GET",
      paths: ["/.well-known/matrix/server"],
      resource: "federation",
      auth: "none",
      handler: async () => {
        if (settings.serverDelegation === undefined) throw new MatrixError("M_NOT_FOUND", "No .well-known configured", 404);
        return { "m.server": settings.serverDelegation };
      },
    },
  ];
}
