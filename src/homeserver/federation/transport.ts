// HTTPS to other servers: one undici Agent whose connector enforces the IP range blocklist on the
// address actually connected to, and checks certificates against the trusted CAs.
// server-server-api#tls: "Server-server communication must take place over HTTPS."
import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { Agent, buildConnector } from "undici";
import type { DnsResolver } from "./dns.ts";
import type { IpRangePolicy } from "./ip-ranges.ts";

/** Where to open the connection: an IP address, or a hostname looked up (and checked) at connect time. */
export interface TransportTarget {
  readonly host: string;
  readonly port: number;
}

export interface TransportRequest {
  readonly target: TransportTarget;
  /**
   * The Host header (server-server-api#resolving-server-names). Its hostname is also the TLS server
   * name (SNI) and the name the certificate must be valid for; an IP address there means no SNI
   * and a certificate for the IP address (server-server-api#tls).
   */
  readonly hostHeader: string;
  readonly method: string;
  /** Path and query string, sent exactly as given. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The whole exchange, connection to last byte, ends by then. */
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Plain HTTP for the few peers allowed it (a push gateway the user named so); HTTPS by default. */
  readonly scheme?: "https" | "http";
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type TransportFailure = "blocked" | "connection" | "timeout" | "too-large";

/** The request got no complete answer: refused by policy, unreachable, too slow or too big. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly reason: TransportFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TransportOptions {
  readonly resolver: DnsResolver;
  readonly ipRanges: IpRangePolicy;
  /** `federation_verify_certificates` */
  readonly verifyCertificates: boolean;
  /** PEM certificates trusted besides the system's roots (`federation_custom_ca_list`). */
  readonly extraCaCertificates?: readonly string[];
  readonly connectTimeoutMs?: number;
}

/** The error a blocked address gives, with the code net reports for unreachable hosts. */
function blockedError(host: string, address: string): Error {
  return Object.assign(new Error(`${host} resolves to ${address}, which ip_range_blacklist blocks`), { code: "EWEFTBLOCKED" });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export class HttpsTransport {
  private readonly agent: Agent;

  constructor(private readonly options: TransportOptions) {
    const connect = buildConnector({
      ca: [...rootCertificates, ...(options.extraCaCertificates ?? [])],
      rejectUnauthorized: options.verifyCertificates,
      timeout: options.connectTimeoutMs ?? 10_000,
      // Every name is resolved here, and only addresses the policy allows are handed to the socket,
      // so what was checked is what is connected to.
      lookup: (hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback) => {
        this.lookup(hostname).then(
          (addresses) => {
            if (lookupOptions.all === true) callback(null, addresses);
            else callback(null, (addresses[0] as LookupAddress).address, (addresses[0] as LookupAddress).family);
          },
          (err: NodeJS.ErrnoException) => callback(err, ""),
        );
      },
    });
    this.agent = new Agent({
      connect: (connectOptions, callback) => {
        // IP literals reach the socket without a lookup: check them here.
        if (isIP(connectOptions.hostname) !== 0 && options.ipRanges.isBlocked(connectOptions.hostname)) {
          callback(blockedError(connectOptions.hostname, connectOptions.hostname), null);
          return;
        }
        connect(connectOptions, callback);
      },
      connections: 8,
      keepAliveTimeout: 30_000,
      // The per-request deadline below covers the rest; these stop a stalled socket regardless.
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
  }

  private async lookup(hostname: string): Promise<LookupAddress[]> {
    const found = await this.options.resolver.lookup(hostname);
    const allowed = found.filter((a) => !this.options.ipRanges.isBlocked(a.address));
    if (allowed.length === 0) {
      if (found.length > 0) throw blockedError(hostname, (found[0] as LookupAddress).address);
      throw Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" });
    }
    return allowed.map((a) => ({ address: a.address, family: a.family }));
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const { host, port } = request.target;
    const origin = `${request.scheme ?? "https"}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await this.agent.request({
        origin,
        path: request.path,
        method: request.method as "GET",
        headers: { ...request.headers, host: request.hostHeader },
        body: request.body,
        signal,
      });
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > request.maxResponseBytes) {
        response.body.destroy();
        throw new TransportError("too-large", `the response of ${origin} is ${declared} bytes, more than ${request.maxResponseBytes}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > request.maxResponseBytes) {
          response.body.destroy();
          throw new TransportError("too-large", `the response of ${origin} is more than ${request.maxResponseBytes} bytes`);
        }
        chunks.push(chunk);
      }
      return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
    } catch (err) {
      throw toTransportError(err, origin, signal);
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

function toTransportError(err: unknown, origin: string, signal: AbortSignal): TransportError {
  if (err instanceof TransportError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EWEFTBLOCKED") return new TransportError("blocked", (err as Error).message, { cause: err });
  if (signal.aborted || code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new TransportError("timeout", `${origin} did not answer in time`, { cause: err });
  }
  return new TransportError("connection", `cannot reach ${origin}: ${(err as Error).message}`, { cause: err });
}
