// The push gateway: POST /_matrix/push/v1/notify per second, each handed to an APNs stand-in (HTTP/2
// over cleartext, answering 200), against a bare node:http server in the same run that parses the
// body and makes the same HTTP/2 request to the same stand-in with the notification as it came, doing
// none of the gateway's work (validation, the app's lookup, the payload, the provider token). The
// notifications are badge updates (no event ID), which the gateway never suppresses as duplicates.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { connect, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { PushGatewayConfig } from "../src/push-gateway/config.ts";
import { startPushGateway } from "../src/push-gateway/gateway.ts";
import { loadTest, printFigure } from "./lib.ts";

const APP = "com.example.bench.ios";
const TOKEN = Buffer.alloc(32, 9).toString("base64");
const BODY = JSON.stringify({ notification: { counts: { unread: 2 }, devices: [{ app_id: APP, pushkey: TOKEN, pushkey_ts: 1, data: { format: "event_id_only" } }] } });

export async function pushGatewayBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-push-"));
  const keyFile = join(dir, "AuthKey.p8");
  await writeFile(keyFile, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }));

  let pushes = 0;
  const apns = createHttp2Server();
  apns.on("stream", (stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      pushes++;
      stream.respond({ ":status": 200 });
      stream.end();
    });
  });
  await new Promise<void>((resolve) => apns.listen(0, "127.0.0.1", resolve));
  const apnsUrl = `http://127.0.0.1:${(apns.address() as AddressInfo).port}`;

  const config: PushGatewayConfig = {
    port: 0,
    bindAddresses: ["127.0.0.1"],
    xForwarded: false,
    logLevel: "silent",
    apps: new Map([[APP, { type: "apns", keyFile, keyId: "K", teamId: "T", topic: APP, platform: "production", apiUrl: apnsUrl }]]),
  };
  const gateway = await startPushGateway(config, pino({ level: "silent" }));

  // The baseline: the same HTTP/2 request per notification, on one connection, with none of the work.
  const session = connect(apnsUrl);
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const notification = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { notification: unknown }).notification;
      const push = session.request({ ":method": "POST", ":path": `/3/device/${TOKEN}`, "content-type": "application/json" });
      push.on("response", () => undefined);
      push.on("data", () => undefined);
      push.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"rejected":[]}');
      });
      push.end(JSON.stringify(notification));
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));

  try {
    const options = { method: "POST", body: BODY, headers: { "content-type": "application/json" }, connections: 16, durationSeconds: 5 };
    const ours = await loadTest(`http://127.0.0.1:${gateway.addresses[0]?.port}/_matrix/push/v1/notify`, options);
    const pushedByUs = pushes;
    const baseline = await loadTest(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/_matrix/push/v1/notify`, options);
    if (ours.non2xx > 0 || ours.errors > 0) throw new Error(`the gateway answered ${ours.non2xx} non-2xx, ${ours.errors} errors`);
    if (pushedByUs === 0) throw new Error("the gateway pushed nothing");
    printFigure({
      name: "POST /_matrix/push/v1/notify to APNs (HTTP/2 stand-in), 16 connections",
      value: ours.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "bare node:http forwarding the same HTTP/2 request", value: baseline.requestsPerSecond },
    });
    console.log(`  latency p50/p99: gateway ${ours.latencyP50Ms}/${ours.latencyP99Ms} ms, bare ${baseline.latencyP50Ms}/${baseline.latencyP99Ms} ms`);
  } finally {
    await gateway.close();
    session.close();
    await new Promise<void>((resolve) => bare.close(() => resolve()));
    await new Promise<void>((resolve) => apns.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}
