// A fake application service for tests: a local node:http server that records what the homeserver
// sends it and answers as each test tells it.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown> | undefined;
}

export type Answer = { status: number; body?: unknown } | undefined;

export class FakeAppservice {
  readonly received: ReceivedRequest[] = [];
  /** Answers by test; undefined falls back to 200 {}. */
  handler: (request: ReceivedRequest) => Answer | Promise<Answer> = () => undefined;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeAppservice> {
    const holder: { self?: FakeAppservice } = {};
    const server = createServer((req, res) => {
      void (async () => {
        const request = await readRequest(req);
        holder.self?.received.push(request);
        const answer = (await holder.self?.handler(request)) ?? { status: 200, body: {} };
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer.body ?? {}));
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    holder.self = new FakeAppservice(server);
    return holder.self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The transactions received, in order. */
  get transactions(): ReceivedRequest[] {
    return this.received.filter((r) => r.method === "PUT" && r.path.startsWith("/_matrix/app/v1/transactions/"));
  }

  /** Waits until `check` holds (polling), or fails after a while. */
  async waitFor(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function readRequest(req: IncomingMessage): Promise<ReceivedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return {
    method: req.method ?? "",
    path: req.url ?? "",
    authorization: req.headers.authorization,
    body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A registration file's text. */
export function registrationYaml(fields: {
  id: string;
  url: string | null;
  asToken: string;
  hsToken: string;
  sender: string;
  users?: string;
  aliases?: string;
  rooms?: string;
  /** v1.13 `receive_ephemeral`: left out when undefined. */
  receiveEphemeral?: boolean;
  extra?: string;
}): string {
  return [
    `id: ${fields.id}`,
    `url: ${fields.url === null ? "null" : JSON.stringify(fields.url)}`,
    `as_token: ${fields.asToken}`,
    `hs_token: ${fields.hsToken}`,
    `sender_localpart: ${fields.sender}`,
    "namespaces:",
    `  users: ${fields.users ?? "[]"}`,
    `  aliases: ${fields.aliases ?? "[]"}`,
    `  rooms: ${fields.rooms ?? "[]"}`,
    fields.receiveEphemeral === undefined ? "" : `receive_ephemeral: ${fields.receiveEphemeral}`,
    fields.extra ?? "",
  ].join("\n");
}
