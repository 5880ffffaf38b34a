/**
 * Stand-ins for the push providers, recording what the gateway sends them and answering as a test
 * says: an HTTP/1.1 server (FCM, its token endpoint, a web push service) and an HTTP/2 one over
 * cleartext (APNs). And a browser's side of a web push subscription, to decrypt what arrives.
 */
import { createECDH, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttp2Server, type IncomingHttpHeaders as Http2Headers, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders | Http2Headers;
  readonly body: Buffer;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

export interface ProviderStub {
  readonly url: string;
  readonly received: Received[];
  /** How to answer; undefined leaves the request unanswered (a provider that hangs). */
  answer: (request: Received) => Answer | undefined;
  close(): Promise<void>;
}

function bodyOf(answer: Answer): string {
  return answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
}

/** An HTTP/1.1 provider on 127.0.0.1. */
export async function startHttpProvider(answer: (request: Received) => Answer | undefined = () => ({ status: 200, body: {} })): Promise<ProviderStub> {
  const received: Received[] = [];
  const stub: ProviderStub = { url: "", received, answer, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      received.push(request);
      const reply = stub.answer(request);
      if (reply === undefined) return;
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(bodyOf(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(stub, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** An HTTP/2 provider over cleartext (h2c) on 127.0.0.1, as APNs would answer. */
export async function startHttp2Provider(answer: (request: Received) => Answer | undefined = () => ({ status: 200 })): Promise<ProviderStub> {
  const received: Received[] = [];
  const stub: ProviderStub = { url: "", received, answer, close: async () => undefined };
  const server = createHttp2Server();
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const request: Received = { method: String(headers[":method"]), path: String(headers[":path"]), headers, body: Buffer.concat(chunks) };
      received.push(request);
      const reply = stub.answer(request);
      if (reply === undefined) return;
      stream.respond({ ":status": reply.status, "content-type": "application/json" });
      stream.end(bodyOf(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(stub, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** A browser's push subscription: its keys, as the pusher's pushkey and data carry them, and the means to read a push. */
export function webPushSubscriber(): { p256dh: string; auth: string; decrypt(body: Buffer): string } {
  const ecdh = createECDH("prime256v1");
  const publicKey = ecdh.generateKeys();
  const authSecret = randomBytes(16);
  const hmac = (key: Buffer, ...data: Buffer[]): Buffer => createHmac("sha256", key).update(Buffer.concat(data)).digest();
  return {
    p256dh: publicKey.toString("base64url"),
    auth: authSecret.toString("base64url"),
    // RFC 8291 §3.4 and RFC 8188 §2: the aes128gcm header (salt, record size, the sender's key), then one record.
    decrypt(body) {
      const salt = body.subarray(0, 16);
      const idLength = body[20] as number;
      const senderKey = body.subarray(21, 21 + idLength);
      const record = body.subarray(21 + idLength);
      const shared = ecdh.computeSecret(senderKey);
      const ikm = hmac(hmac(authSecret, shared), Buffer.from("WebPush: info\0"), publicKey, senderKey, Buffer.from([1]));
      const prk = hmac(salt, ikm);
      const cek = hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0"), Buffer.from([1])).subarray(0, 16);
      const nonce = hmac(prk, Buffer.from("Content-Encoding: nonce\0"), Buffer.from([1])).subarray(0, 12);
      const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
      decipher.setAuthTag(record.subarray(record.length - 16));
      const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
      // The last record ends with the delimiter 2, then any padding zeros.
      return padded.subarray(0, padded.lastIndexOf(2)).toString("utf8");
    },
  };
}
