/**
 * A stub HTTPS server on loopback for federation transport tests: each request is recorded (with
 * the Host header and the TLS server name the client sent) and answered by the test's handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { TLSSocket } from "node:tls";

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  /** The SNI the client sent; false when it sent none. */
  readonly servername: string | false;
  readonly authorization: string | undefined;
  readonly body: string;
}

export type StubHandler = (req: RecordedRequest, res: ServerResponse) => void;

export interface StubServer {
  readonly port: number;
  readonly requests: RecordedRequest[];
  handler: StubHandler;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

export async function startStubServer(tls: { cert: string; key: string }, handler: StubHandler): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const stub = {
    port: 0,
    requests,
    handler,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer({ cert: tls.cert, key: tls.key }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        host: req.headers.host,
        servername: (req.socket as TLSSocket).servername ?? false,
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      stub.handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  stub.port = address.port;
  return stub;
}
