import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { accountLockedError, accountSuspendedError, MatrixError } from "../core/errors.ts";
import { isJsonObject } from "../core/json.ts";
import { CORS_HEADERS } from "./cors.ts";
import { accessTokenOf, type AnyEndpoint, type Connection, type HttpMethod, HttpReply, type MatrixRequest, type MatrixResponse, type Requester, type Resource } from "./endpoint.ts";
import { toMatrixError } from "./errors.ts";
import type { FederationRateLimiter } from "./federation-rate-limit.ts";
import type { RateLimiter } from "./rate-limit.ts";

/** A federation request as the X-Matrix verifier needs it (server-server-api#request-authentication). */
export interface FederationRequestInfo {
  readonly method: string;
  /** The request target as sent: path and query string. */
  readonly uri: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export interface HttpDeps {
  readonly endpoints: readonly AnyEndpoint[];
  /**
   * Resolves an access token to its requester; throws MatrixError M_UNKNOWN_TOKEN when invalid. The
   * query is for an application service's identity assertion (its `user_id` and `device_id`).
   */
  authenticateAccessToken(token: string, connection: Connection, query?: Readonly<Record<string, unknown>>): Promise<Requester>;
  /** Whether a server admin locked the user's account (client-server-api#account-locking). */
  isLocked?(userId: string): boolean;
  /** Whether a server admin suspended the user's account (client-server-api#account-suspension). */
  isSuspended?(userId: string): boolean;
  /** Verifies an X-Matrix request and returns the origin server name; throws MatrixError otherwise. */
  authenticateFederation?(request: FederationRequestInfo): Promise<string>;
  readonly rateLimiters: ReadonlyMap<string, RateLimiter>;
  /** `rc_federation`: requests of each origin server (X-Matrix authenticated) run within its limits. */
  readonly federationRateLimiter?: FederationRateLimiter;
  readonly logger: FastifyBaseLogger;
  /** The largest request body accepted, in bytes (larger ones are 413 M_TOO_LARGE). */
  readonly maxRequestSize: number;
  /** The largest media upload accepted, in bytes. */
  readonly maxUploadSize: number;
}

export interface ListenerOptions {
  readonly resources: ReadonlySet<Resource>;
  /** Trust X-Forwarded-For from a reverse proxy (Synapse's `x_forwarded`). */
  readonly xForwarded: boolean;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** The levels at which an info line is logged. */
const INFO_OR_LOWER: ReadonlySet<string> = new Set(["info", "debug", "trace"]);

const ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"] as const;

interface CompiledEndpoint {
  readonly endpoint: AnyEndpoint;
  readonly validate: ValidateFunction | undefined;
  readonly body: "json" | "raw" | "none";
}

/** Builds the HTTP application of one listener: the routes of the resources it serves. */
export function buildHttpApp(deps: HttpDeps, listener: ListenerOptions): FastifyInstance {
  const ajv = new Ajv({ strict: false, allErrors: false });
  const prefix = randomBytes(3).toString("hex");
  let counter = 0;
  const app = Fastify({
    ...(listener.tls === undefined ? {} : { https: { cert: listener.tls.cert, key: listener.tls.key } }),
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }), // we log one line per request below
    genReqId: () => `${prefix}-${(++counter).toString(36)}`,
    trustProxy: listener.xForwarded,
    // IDs in paths may be 255 bytes, percent-encoded up to three times longer.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    bodyLimit: Math.max(deps.maxRequestSize, deps.maxUploadSize),
    exposeHeadRoutes: false,
    return503OnClosing: false,
  }) as unknown as FastifyInstance; // the https variant has another server type; we use none of its specifics

  // Bodies are read as bytes and parsed per endpoint, whatever the Content-Type: the spec lets
  // clients omit it, and media uploads take any type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Group the endpoints of the listener's resources by path; one route per path dispatches on method,
  // so that a known path with another method answers 405 rather than 404.
  const byPath = new Map<string, Map<HttpMethod, CompiledEndpoint>>();
  for (const endpoint of deps.endpoints) {
    if (!listener.resources.has(endpoint.resource)) continue;
    const compiled: CompiledEndpoint = {
      endpoint,
      validate: endpoint.schema === undefined ? undefined : ajv.compile(endpoint.schema),
      body: endpoint.body ?? (endpoint.method === "POST" || endpoint.method === "PUT" ? "json" : "none"),
    };
    for (const path of endpoint.paths) {
      let methods = byPath.get(path);
      if (methods === undefined) byPath.set(path, (methods = new Map()));
      if (methods.has(endpoint.method)) throw new Error(`two endpoints for ${endpoint.method} ${path}`);
      methods.set(endpoint.method, compiled);
    }
  }

  for (const [path, methods] of byPath) {
    app.route({
      method: [...ALL_METHODS],
      url: path,
      handler: async (req, reply) => {
        if (req.method === "OPTIONS") return sendOptions(reply);
        const compiled = methods.get(req.method as HttpMethod);
        if (compiled === undefined) {
          throw new MatrixError("M_UNRECOGNIZED", `Unsupported method ${req.method} for this path`, 405);
        }
        return dispatch(deps, compiled, req, reply);
      },
    });
  }

  app.setNotFoundHandler(async (req, reply) => {
    if (req.method === "OPTIONS") return sendOptions(reply);
    return sendJson(reply, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  });

  app.setErrorHandler(async (error, req, reply) => {
    const matrixError = toMatrixError(error);
    if (matrixError.status >= 500) req.log.error({ err: error }, "request failed");
    const headers: Record<string, string> = {};
    if (matrixError.errcode === "M_LIMIT_EXCEEDED" && typeof matrixError.extra["retry_after_ms"] === "number") {
      headers["retry-after"] = String(Math.ceil((matrixError.extra["retry_after_ms"] as number) / 1000));
    }
    return sendJson(reply, matrixError.status, matrixError.toJSON(), headers);
  });

  // One access-log line per request; the URL is logged without its query string, which may hold an
  // access token (client-server-api#using-access-tokens). No hook (a promise per request) when the
  // level drops the line (it is set once, at start).
  if (INFO_OR_LOWER.has(deps.logger.level)) {
    app.addHook("onResponse", async (req, reply) => {
      req.log.info(
        { method: req.method, path: req.url.split("?", 1)[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        "request",
      );
    });
  }

  return app;
}

function sendOptions(reply: FastifyReply): FastifyReply {
  return reply.code(204).headers(CORS_HEADERS).send();
}

function sendJson(reply: FastifyReply, status: number, body: unknown, headers?: Readonly<Record<string, string>>): FastifyReply {
  reply.code(status).headers(CORS_HEADERS).header("content-type", "application/json");
  if (headers !== undefined) reply.headers(headers);
  return reply.send(JSON.stringify(body));
}

function parseJsonBody(raw: unknown): unknown {
  const bytes = Buffer.isBuffer(raw) ? raw : undefined;
  // An empty body where an object is required is taken as {} (logout and similar endpoints, and
  // clients that send nothing for an empty object).
  if (bytes === undefined || bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new MatrixError("M_NOT_JSON", "Content not JSON", 400);
  }
  if (!isJsonObject(value)) throw new MatrixError("M_BAD_JSON", "Content must be a JSON object", 400);
  return value;
}

function schemaError(errors: ErrorObject[] | null | undefined): MatrixError {
  const first = errors?.[0];
  if (first?.keyword === "required") {
    const missing = (first.params as { missingProperty?: string }).missingProperty ?? "a parameter";
    const at = first.instancePath === "" ? "" : ` in ${first.instancePath}`;
    return new MatrixError("M_MISSING_PARAM", `Missing parameter: ${missing}${at}`, 400);
  }
  const where = first?.instancePath === "" || first === undefined ? "body" : first.instancePath;
  return new MatrixError("M_BAD_JSON", `Invalid ${where}: ${first?.message ?? "does not match the schema"}`, 400);
}

/** A controller aborted when the response's connection closes before the response is finished. */
function abortedOnDisconnect(res: ServerResponse): AbortController {
  const controller = new AbortController();
  const gone = (): boolean => !res.writableFinished;
  if (res.closed) {
    if (gone()) controller.abort();
  } else {
    res.once("close", () => {
      if (gone()) controller.abort();
    });
  }
  return controller;
}

async function dispatch(deps: HttpDeps, compiled: CompiledEndpoint, req: FastifyRequest, reply: FastifyReply) {
  const { endpoint } = compiled;

  if (compiled.body === "json" && Buffer.isBuffer(req.body) && req.body.length > deps.maxRequestSize) {
    throw new MatrixError("M_TOO_LARGE", "Request body is too large", 413);
  }

  let requester: Requester | undefined;
  let origin: string | undefined;
  if (endpoint.auth === "accessToken" || endpoint.auth === "optionalAccessToken") {
    const token = accessTokenOf(req.headers, req.query as Record<string, unknown>);
    if (token !== undefined) requester = await deps.authenticateAccessToken(token, { ip: req.ip, userAgent: req.headers["user-agent"] }, req.query as Record<string, unknown>);
    else if (endpoint.auth === "accessToken") throw new MatrixError("M_MISSING_TOKEN", "Missing access token", 401);
    if (requester !== undefined && endpoint.whileLocked !== true && deps.isLocked?.(requester.userId) === true) throw accountLockedError();
  }

  const body: unknown = compiled.body === "json" ? parseJsonBody(req.body) : undefined;

  if (endpoint.auth === "federation") {
    if (deps.authenticateFederation === undefined) {
      throw new MatrixError("M_UNRECOGNIZED", "Federation is not enabled on this listener", 404);
    }
    origin = await deps.authenticateFederation({
      method: req.method,
      uri: req.url,
      authorization: req.headers.authorization,
      body,
    });
  }
  // After the X-Matrix check (which signs the parsed body): an unsigned request is 401 whatever its body.
  if (compiled.body === "json" && compiled.validate !== undefined && !compiled.validate(body)) throw schemaError(compiled.validate.errors);

  // application-service-api registration `rate_limited`: an application service's requests may be exempt.
  if (endpoint.rateLimit !== undefined && requester?.appservice?.rateLimited !== false) {
    const limiter = deps.rateLimiters.get(endpoint.rateLimit);
    const decision = limiter?.take(requester?.userId ?? origin ?? req.ip);
    if (decision !== undefined && !decision.allowed) {
      throw new MatrixError("M_LIMIT_EXCEEDED", "Too many requests", 429, { retry_after_ms: decision.retryAfterMs });
    }
  }

  let controller: AbortController | undefined;
  const request: MatrixRequest = {
    // Made when a handler first asks (few do): an AbortController per request would cost them all.
    get signal(): AbortSignal {
      controller ??= abortedOnDisconnect(reply.raw);
      return controller.signal;
    },
    params: req.params as Record<string, string>,
    query: req.query as Record<string, string | string[] | undefined>,
    body,
    rawBody: compiled.body === "raw" && Buffer.isBuffer(req.body) ? req.body : undefined,
    headers: req.headers,
    requester,
    origin,
    ip: req.ip,
    log: req.log,
  };
  const refused = endpoint.refusedWhileSuspended;
  if (refused !== undefined && requester !== undefined && deps.isSuspended?.(requester.userId) === true && (refused === true || (await refused(request)))) {
    throw accountSuspendedError();
  }
  const response: MatrixResponse =
    origin !== undefined && deps.federationRateLimiter !== undefined
      ? await deps.federationRateLimiter.run(origin, endpoint.name, () => endpoint.handler(request))
      : await endpoint.handler(request);
  if (!(response instanceof HttpReply)) return sendJson(reply, 200, response);
  if ("json" in response.payload) return sendJson(reply, response.status, response.payload.json, response.headers);
  reply.code(response.status).headers(CORS_HEADERS).header("content-type", response.payload.contentType);
  reply.headers(response.headers);
  return reply.send(response.payload.raw);
}
