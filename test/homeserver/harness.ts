/**
 * Starts a whole homeserver in-process for tests, over real HTTP on a free loopback port, on either
 * storage engine (a fresh SQLite file or PostgreSQL schema, removed afterwards).
 *
 *   const hs = await startTestHomeserver("sqlite", { yaml: "enable_registration: true" });
 *   const res = await fetch(`${hs.baseUrl}/_matrix/client/versions`);
 *   await hs.stop();
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../src/config/index.ts";
import { startHomeserver, type RunningHomeserver } from "../../src/homeserver/server.ts";
import type { Engine } from "../../src/storage/engine.ts";
import { createTestStorage } from "../storage/engines.ts";

export interface TestHomeserver {
  readonly baseUrl: string;
  readonly server: RunningHomeserver;
  readonly config: HomeserverConfig;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export async function startTestHomeserver(
  engine: Engine,
  options: { serverName?: string; yaml?: string; resources?: string } = {},
): Promise<TestHomeserver> {
  const dataDir = await mkdtemp(join(tmpdir(), "weft-hs-"));
  const storage = await createTestStorage(engine);
  const yaml = [
    `server_name: ${options.serverName ?? "test.local"}`,
    "listeners:",
    "  - port: 1", // replaced below by port 0: the config layer rightly refuses 0
    "    bind_addresses: ['127.0.0.1']",
    "    type: http",
    `    resources: [{ names: [${options.resources ?? "client, federation, keys, media"}] }]`,
    `log_level: ${process.env["WEFT_TEST_LOG"] ?? "silent"}`,
    options.yaml ?? "",
  ].join("\n");
  const { config: parsed } = parseConfigText(yaml, join(dataDir, "homeserver.yaml"));
  const config: HomeserverConfig = {
    ...parsed,
    listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })),
    database: storage.config as HomeserverConfig["database"],
  };
  const server = await startHomeserver(config, pino({ level: process.env["WEFT_TEST_LOG"] ?? "silent" }));
  const port = server.addresses[0]?.port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    server,
    config,
    dataDir,
    stop: async () => {
      await server.close();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
