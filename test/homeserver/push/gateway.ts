/**
 * A fake push gateway for tests: POST /_matrix/push/v1/notify over HTTPS on 127.0.0.1, with a
 * certificate of a throwaway CA (give the homeserver `federation_custom_ca_list: [pki.caPath]` and
 * `ip_range_whitelist: ['127.0.0.1']`), or over plain HTTP with `{ plain: true }`. It records what
 * it receives and answers as told.
 *
 *   const gateway = await startFakeGateway(pki);
 *   gateway.answer = () => ({ status: 200, body: { rejected: [] } });
 *   const [first] = await gateway.next(1);
 */
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { JsonObject } from "../../../src/core/json.ts";
import type { TestPki } from "../federation/pki.ts";

export interface GatewayAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface FakeGateway {
  /** The notify URL, for a pusher's data.url. */
  readonly url: string;
  /** The `notification` of every request received, in order. */
  readonly received: JsonObject[];
  /** How to answer a request (200 `{rejected: []}` by default). */
  answer: (notification: JsonObject) => GatewayAnswer;
  /** The next `count` notifications not taken yet, once they arrived. */
  next(count: number, timeoutMs?: number): Promise<JsonObject[]>;
  close(): Promise<void>;
}

export async function startFakeGateway(pki: TestPki, options: { plain?: boolean } = {}): Promise<FakeGateway> {
  const received: JsonObject[] = [];
  let consumed = 0;
  const waiters: Array<() => void> = [];
  const gateway: FakeGateway = {
    url: "",
    received,
    answer: () => ({ status: 200, body: { rejected: [] } }),
    async next(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < consumed + count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the gateway got ${received.length - consumed} of ${count} notifications: ${JSON.stringify(received.slice(consumed))}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const out = received.slice(consumed, consumed + count);
      consumed += count;
      return out;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/_matrix/push/v1/notify") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }));
        return;
      }
      const notification = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { notification: JsonObject }).notification;
      received.push(notification);
      const { status, body } = gateway.answer(notification);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      for (const wake of waiters.splice(0)) wake();
    });
  };
  const cert = options.plain === true ? undefined : pki.issue(["localhost"], ["127.0.0.1"]);
  const server: HttpServer = cert === undefined ? createHttpServer(handle) : createServer({ cert: cert.cert, key: cert.key }, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return Object.assign(gateway, { url: `${cert === undefined ? "http" : "https"}://127.0.0.1:${port}/_matrix/push/v1/notify` });
}
