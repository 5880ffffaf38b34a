// Outbound federation requests: resolve the destination (discovery.ts), sign the request
// (request-auth.ts), send it over the guarded HTTPS transport, and parse the JSON answer strictly.
import { parseStrictJson } from "../../core/canonical-json/strict-parse.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { parseServerName, type ServerName } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { ResolvedServer } from "./discovery.ts";
import { signRequest } from "./request-auth.ts";
import { TransportError, type TransportFailure, type TransportRequest, type TransportResponse } from "./transport.ts";

export type FederationFailure = TransportFailure | "bad-destination" | "http" | "invalid-response";

/** A federation request that did not give a JSON object: why, and the remote's status and errcode if any. */
export class FederationRequestError extends Error {
  override name = "FederationRequestError";
  /** The remote's own `error` text, when it answered a Matrix error. */
  readonly remoteError: string | undefined;
  constructor(
    readonly destination: string,
    readonly reason: FederationFailure,
    message: string,
    readonly status?: number,
    readonly errcode?: string,
    options?: { cause?: unknown; remoteError?: string },
  ) {
    super(message, options);
    this.remoteError = options?.remoteError;
  }
}

export type QueryParams = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface FederationRequestOptions {
  readonly query?: QueryParams;
  /** The whole request, from the first connection attempt to the last byte. */
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** Accept numbers canonical JSON forbids (room versions 1-5 events, rooms/fragments/v1-canonical-json.md). */
  readonly lenientNumbers?: boolean;
  /** The Accept header: `application/json` unless told. */
  readonly accept?: string;
}

export interface FederationClientOptions {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly discovery: { resolve(serverName: ServerName): Promise<ResolvedServer> };
  readonly transport: { request(request: TransportRequest): Promise<TransportResponse> };
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** Large enough for /state of a big room; a limit all the same. */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The query string of a request, `?`-prefixed, or "" when there is none. */
export function encodeQuery(query: QueryParams | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(name, item);
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

export class FederationClient {
  constructor(private readonly options: FederationClientOptions) {}

  get(destination: string, path: string, options?: FederationRequestOptions): Promise<JsonObject> {
    return this.request("GET", destination, path, undefined, options);
  }

  put(destination: string, path: string, body: JsonObject, options?: FederationRequestOptions): Promise<JsonObject> {
    return this.request("PUT", destination, path, body, options);
  }

  post(destination: string, path: string, body: JsonObject, options?: FederationRequestOptions): Promise<JsonObject> {
    return this.request("POST", destination, path, body, options);
  }

  delete(destination: string, path: string, options?: FederationRequestOptions): Promise<JsonObject> {
    return this.request("DELETE", destination, path, undefined, options);
  }

  /**
   * Sends a signed request. `path` starts with `/_matrix/` and has its variable segments already
   * percent-encoded; what is signed as `uri` is exactly the path and query sent.
   */
  async request(
    method: "GET" | "PUT" | "POST" | "DELETE",
    destination: string,
    path: string,
    body: JsonObject | undefined,
    options: FederationRequestOptions = {},
  ): Promise<JsonObject> {
    const json = await this.requestJson(method, destination, path, body, options);
    // server-server-api#api-standards: "all endpoints ... require the destination server to return a JSON object".
    if (!isJsonObject(json)) {
      throw new FederationRequestError(destination, "invalid-response", `${method} ${path} to ${destination} did not answer a JSON object`, 200);
    }
    return json;
  }

  /**
   * Like `request`, for the few deprecated endpoints whose answer is not an object: send_join,
   * send_leave and invite v1 answer `[200, {...}]`.
   */
  async requestJson(
    method: "GET" | "PUT" | "POST" | "DELETE",
    destination: string,
    path: string,
    body: JsonObject | undefined,
    options: FederationRequestOptions = {},
  ): Promise<JsonValue> {
    const response = await this.requestRaw(method, destination, path, body, options);
    return this.parse(destination, method, path, response, options.lenientNumbers === true);
  }

  /**
   * Sends a signed request and answers the remote's reply as it came (any status, the body's
   * bytes unparsed): for the few endpoints that do not answer JSON (federation media).
   */
  async requestRaw(
    method: "GET" | "PUT" | "POST" | "DELETE",
    destination: string,
    path: string,
    body: JsonObject | undefined,
    options: FederationRequestOptions = {},
  ): Promise<TransportResponse> {
    const serverName = parseServerName(destination);
    if (serverName === undefined) throw new FederationRequestError(destination, "bad-destination", `${JSON.stringify(destination)} is not a server name`);
    if (!path.startsWith("/")) throw new TypeError(`a federation path starts with "/": ${path}`);
    const uri = path + encodeQuery(options.query);
    const { serverName: origin, signingKey } = this.options;
    const authorization = signRequest({ method, uri, origin, destination, content: body }, signingKey);
    const headers: Record<string, string> = { authorization, accept: options.accept ?? "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;

    const resolved = await this.options.discovery.resolve(serverName);
    let response: TransportResponse | undefined;
    let lastError: TransportError | undefined;
    for (const target of resolved.targets) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        response = await this.options.transport.request({
          target,
          hostHeader: resolved.hostHeader,
          method,
          path: uri,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: remaining,
          maxResponseBytes: options.maxResponseBytes ?? this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        });
        break;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = err;
        // Another SRV target is worth a try only when this one could not be reached at all.
        if (err.reason !== "connection") break;
      }
    }
    if (response === undefined) {
      const error = lastError ?? new TransportError("timeout", `no time left to reach ${destination}`);
      throw new FederationRequestError(destination, error.reason, `${method} ${path} to ${destination}: ${error.message}`, undefined, undefined, {
        cause: error,
      });
    }
    return response;
  }

  /**
   * An unsigned GET of an https URL a remote server gave (a federation media `Location`), through
   * the same guarded transport (blocked address ranges included).
   */
  async fetchUrl(url: string, options: { timeoutMs?: number; maxResponseBytes?: number } = {}): Promise<TransportResponse> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new FederationRequestError(url, "bad-destination", `${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== "https:") throw new FederationRequestError(url, "bad-destination", `${JSON.stringify(url)} is not an https URL`);
    const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
    try {
      return await this.options.transport.request({
        target: { host, port: parsed.port === "" ? 443 : Number(parsed.port) },
        hostHeader: parsed.host,
        method: "GET",
        path: parsed.pathname + parsed.search,
        headers: {},
        timeoutMs: options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxResponseBytes: options.maxResponseBytes ?? this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      throw new FederationRequestError(parsed.host, err.reason, `GET ${url}: ${err.message}`, undefined, undefined, { cause: err });
    }
  }

  private parse(destination: string, method: string, path: string, response: TransportResponse, lenientNumbers: boolean): JsonValue {
    let json: JsonValue | undefined;
    try {
      json = parseStrictJson(response.body, { lenientNumbers });
    } catch {
      json = undefined;
    }
    if (response.status < 200 || response.status >= 300) {
      const errcode = isJsonObject(json) && typeof json["errcode"] === "string" ? json["errcode"] : undefined;
      const remoteError = isJsonObject(json) && typeof json["error"] === "string" ? json["error"] : undefined;
      throw new FederationRequestError(
        destination,
        "http",
        `${method} ${path} to ${destination} answered ${response.status}${errcode === undefined ? "" : ` ${errcode}`}${remoteError === undefined ? "" : `: ${remoteError}`}`,
        response.status,
        errcode,
        { remoteError },
      );
    }
    if (json === undefined) {
      throw new FederationRequestError(destination, "invalid-response", `${method} ${path} to ${destination} did not answer JSON`, response.status);
    }
    return json;
  }
}
