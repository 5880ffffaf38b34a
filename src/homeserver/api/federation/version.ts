// GET /_matrix/federation/v1/version (server-server-api#get_matrixfederationv1version).
import { readFileSync } from "node:fs";
import type { Endpoint } from "../../../http/endpoint.ts";

/** Weft's version, from its package.json. */
export function weftVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

export function federationVersionEndpoint(version: string = weftVersion()): Endpoint {
  const body = { server: { name: "Weft", version } };
  return {
    name: "federation.version",
    method: "GET",
    paths: ["/_matrix/federation/v1/version"],
    resource: "federation",
    auth: "none",
    handler: async () => body,
  };
}
