// Issue 2: requests per second of GET /_matrix/client/versions on the real homeserver, against a bare
// node:http server answering the same bytes, driven by the same keep-alive load generator.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfigText } from "../src/config/index.ts";
import { startHomeserver } from "../src/homeserver/server.ts";
import { loadTest, printFigure } from "./lib.ts";

/** A homeserver on SQLite in a temporary folder, on a free loopback port, logging nothing. */
export async function startBenchHomeserver(extraYaml = "") {
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-"));
  const { config } = parseConfigText(
    ["server_name: bench.local", "listeners: [{port: 1, bind_addresses: ['127.0.0.1'], type: http, resources: [{names: [client, federation, keys]}]}]", extraYaml].join("\n"),
    join(dir, "homeserver.yaml"),
  );
  const server = await startHomeserver({ ...config, listeners: config.listeners.map((l) => ({ ...l, port: 0 })) }, pino({ level: "silent" }));
  return {
    baseUrl: `http://127.0.0.1:${server.addresses[0]?.port}`,
    server,
    stop: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function versionsBench(): Promise<void> {
  const hs = await startBenchHomeserver();
  const body = await (await fetch(`${hs.baseUrl}/_matrix/client/versions`)).text();
  const bare = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/_matrix/client/versions`;
  try {
    const ours = await loadTest(`${hs.baseUrl}/_matrix/client/versions`);
    const baseline = await loadTest(bareUrl);
    if (ours.non2xx > 0 || ours.errors > 0) throw new Error(`versions answered ${ours.non2xx} non-2xx, ${ours.errors} errors`);
    printFigure({
      name: "GET /_matrix/client/versions",
      value: ours.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "bare node:http, same bytes", value: baseline.requestsPerSecond },
    });
    console.log(`  latency p50/p99: weft ${ours.latencyP50Ms}/${ours.latencyP99Ms} ms, bare ${baseline.latencyP50Ms}/${baseline.latencyP99Ms} ms`);
  } finally {
    bare.close();
    await hs.stop();
  }
}
