/**
 * A whole homeserver for federation tests: like harness.ts's startTestHomeserver, but serving
 * HTTPS with a certificate of the test CA, under the server name `<host>:<port>` (an explicit port,
 * so other servers reach it without .well-known or SRV), trusting the test CA and allowing loopback
 * for its own outbound federation. Extra endpoints (say, one with X-Matrix auth) can be served beside
 * the homeserver's own.
 *
 *   const pki = await createTestPki();
 *   const hs = await startTlsHomeserver("sqlite", pki, { host: "localhost" });
 *   await hs.server.services.federation.client.get(other.serverName, "/_matrix/federation/v1/version");
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../../src/config/index.ts";
import type { AnyEndpoint, Resource } from "../../../src/http/endpoint.ts";
import { startListeners, type RunningListeners } from "../../../src/http/listeners.ts";
import { startHomeserver, type RunningHomeserver } from "../../../src/homeserver/server.ts";
import type { Engine } from "../../../src/storage/engine.ts";
import { createTestStorage } from "../../storage/engines.ts";
import type { TestPki } from "./pki.ts";

export interface TlsHomeserver {
  readonly serverName: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly server: RunningHomeserver;
  readonly config: HomeserverConfig;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 now; the server name must carry it before the server starts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function startTlsHomeserver(
  engine: Engine,
  pki: TestPki,
  options: { host?: "localhost" | "127.0.0.1"; yaml?: string; extraEndpoints?: readonly AnyEndpoint[] } = {},
): Promise<TlsHomeserver> {
  const host = options.host ?? "localhost";
  const port = await freePort();
  const serverName = `${host}:${port}`;
  const certificate = pki.issue(["localhost"], ["127.0.0.1"]);
  const dataDir = await mkdtemp(join(tmpdir(), "weft-fed-"));
  const storage = await createTestStorage(engine);
  const yaml = [
    `server_name: "${serverName}"`,
    "listeners:",
    "  - port: 1", // replaced below: this helper starts the listener itself
    "    type: http",
    "    resources: [{ names: [federation] }]",
    `tls_certificate_path: ${certificate.certPath}`,
    `tls_private_key_path: ${certificate.keyPath}`,
    `federation_custom_ca_list: [${pki.caPath}]`,
    "ip_range_whitelist: ['127.0.0.0/8']",
    "log_level: silent",
    options.yaml ?? "",
  ].join("\n");
  const { config: parsed } = parseConfigText(yaml, join(dataDir, "homeserver.yaml"));
  const config: HomeserverConfig = { ...parsed, listeners: [], database: storage.config as HomeserverConfig["database"] };
  const server = await startHomeserver(config, pino({ level: "silent" }));
  let listeners: RunningListeners;
  try {
    const http = server.services.http;
    listeners = await startListeners({ ...http, endpoints: [...http.endpoints, ...(options.extraEndpoints ?? [])] }, [
      {
        port,
        bindAddresses: ["127.0.0.1"],
        // As in Synapse, `federation` implies `openid` (OpenID userinfo, which identity services ask).
        resources: new Set<Resource>(["client", "federation", "keys", "media", "health", "openid"]),
        xForwarded: false,
        tls: { cert: certificate.cert, key: certificate.key },
      },
    ]);
  } catch (err) {
    await server.close();
    await storage.drop();
    throw err;
  }
  return {
    serverName,
    port,
    baseUrl: `https://127.0.0.1:${port}`,
    server,
    config,
    stop: async () => {
      await listeners.close();
      await server.close();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
