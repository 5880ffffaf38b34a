import type { FastifyBaseLogger } from "fastify";
import type { Readable } from "node:stream";
import type { JsonObject } from "../core/json.ts";

// Endpoints are described once (ARCHITECTURE.md): method, paths across spec versions, auth scheme,
// rate limit, body and schema; the router builds the routes from these descriptions.

/** Which listener resource serves an endpoint (Synapse's `listeners[].resources[].names`). */
export type Resource = "client" | "federation" | "keys" | "media" | "health" | "metrics" | "openid" | "push" | "identity";

/**
 * How a request is authenticated: none; a client access token (client-server-api#using-access-tokens),
 * required or optional; a server's X-Matrix signature (server-server-api#request-authentication).
 */
export type AuthScheme = "none" | "accessToken" | "optionalAccessToken" | "federation";

/** Who made a client request, as the access-token authenticator found it. */
export interface Requester {
  readonly userId: string;
  readonly deviceId: string | undefined;
  readonly isGuest: boolean;
  readonly accessTokenId: number | undefined;
  /**
   * Set when an application service made the request with its as_token (application-service-api
   * #identity-assertion): which service, and whether its request is rate limited.
   */
  readonly appservice?: { readonly id: string; readonly rateLimited: boolean };
}

/**
 * The server acting as a user of its own, with no request behind it (an admin's change made as the
 * user, the system user of server notices): no device, no access token.
 */
export function actingAs(userId: string): Requester {
  return { userId, deviceId: undefined, isGuest: false, accessTokenId: undefined };
}

/** Where a request came from, as a device's last sighting records it (admin.yaml ConnectionInfo). */
export interface Connection {
  readonly ip: string;
  readonly userAgent: string | undefined;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface MatrixRequest<Body = unknown> {
  readonly params: Record<string, string>;
  readonly query: Record<string, string | string[] | undefined>;
  readonly body: Body;
  /** Raw body bytes, for endpoints declared with `body: "raw"` (media uploads). */
  readonly rawBody: Buffer | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly requester: Requester | undefined;
  /** The origin server of a federation request, after its X-Matrix signature was verified. */
  readonly origin: string | undefined;
  readonly ip: string;
  readonly log: FastifyBaseLogger;
  /**
   * Aborted when the client goes away before its response is sent, so that a handler that waits (a
   * long-polling /sync) ends at once instead of holding its memory until its timeout.
   */
  readonly signal: AbortSignal;
}

/**
 * The access token of a request: the Authorization header's Bearer token, else the `access_token`
 * query parameter (client-server-api#using-access-tokens). For the dispatcher, and for the few
 * endpoints that read a token themselves (an application service's on /login).
 */
export function accessTokenOf(headers: { readonly authorization?: string | string[] | undefined }, query: Readonly<Record<string, unknown>>): string | undefined {
  const header = headers.authorization;
  if (header !== undefined) return typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  const token = query["access_token"];
  return typeof token === "string" && token.length > 0 ? token : undefined;
}

/** A response other than a JSON object with status 200: another status, headers, or raw bytes. */
export class HttpReply {
  constructor(
    readonly status: number,
    /** Raw bytes may be a stream (a media download read from its file). */
    readonly payload: { readonly json: unknown } | { readonly raw: Buffer | string | Readable; readonly contentType: string },
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  static json(status: number, json: unknown, headers?: Record<string, string>): HttpReply {
    return new HttpReply(status, { json }, headers);
  }

  static raw(status: number, raw: Buffer | string | Readable, contentType: string, headers?: Record<string, string>): HttpReply {
    return new HttpReply(status, { raw, contentType }, headers);
  }
}

/** A handler's answer: a JSON object (status 200), or an HttpReply. */
export type MatrixResponse = JsonObject | HttpReply;

/** A JSON Schema (draft 2020-12 as the spec's OpenAPI 3.1 files use), validated with ajv. */
export type JsonSchema = Record<string, unknown>;

export interface Endpoint<Body = unknown> {
  /** A stable name for logs and metrics, e.g. "client.login". */
  readonly name: string;
  readonly method: HttpMethod;
  /** Fastify-style paths (`:param`), every prefix the spec's history serves the endpoint under. */
  readonly paths: readonly string[];
  readonly resource: Resource;
  readonly auth: AuthScheme;
  /** The name of a rate limiter (a config key such as "rc_message"); keyed by user, or by address. */
  readonly rateLimit?: string;
  /** "json" (the default for POST and PUT): an object body, validated by `schema`; "raw": bytes. */
  readonly body?: "json" | "raw" | "none";
  readonly schema?: JsonSchema;
  /** client-server-api#account-locking: one of the few endpoints a locked account may still call (the logouts). */
  readonly whileLocked?: true;
  /**
   * client-server-api#account-suspension: a suspended account may not call this endpoint (true), or
   * not with this request (a function saying whether it is refused: /send may redact, not message).
   */
  readonly refusedWhileSuspended?: true | ((request: MatrixRequest) => boolean | Promise<boolean>);
  handler(request: MatrixRequest<Body>): Promise<MatrixResponse>;
}

/** Anything with its endpoint type erased, for lists of endpoints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint types its own body
export type AnyEndpoint = Endpoint<any>;

/**
 * The paths of a client-server endpoint under `/_matrix/client/v3/...`; with `r0` beside it for
 * endpoints that existed before v1.1 (the r0 prefix older clients and bots still call).
 */
export function clientPaths(path: string, options: { r0?: boolean; versions?: readonly string[] } = {}): string[] {
  const versions = options.versions ?? ["v3"];
  const prefixes = options.r0 === false ? versions : [...versions, "r0"];
  return prefixes.map((v) => `/_matrix/client/${v}${path}`);
}
