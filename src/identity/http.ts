// How the identity service's endpoints sit on the project's HTTP layer (http/endpoint.ts). The
// layer's access tokens and error codes are the client-server API's; the identity service has its
// own (identity-service-api#authentication: 401 M_UNAUTHORIZED; #standard-error-response:
// M_MISSING_PARAMS, M_INVALID_PARAM), and takes the deprecated form-encoded bodies too. So its
// endpoints are declared to the layer with no auth and raw bodies, and authenticated, parsed and
// validated here, in that order: a request without credentials is refused whatever its body.
import { Ajv, type ValidateFunction } from "ajv";
import type { FastifyBaseLogger } from "fastify";
import { createHash } from "node:crypto";
import { MatrixError } from "../core/errors.ts";
import { isClientSecret } from "../core/identifiers/threepid.ts";
import { isJsonObject, type JsonObject } from "../core/json.ts";
import { accessTokenOf, type Endpoint, type HttpMethod, type JsonSchema, type MatrixRequest, type MatrixResponse } from "../http/endpoint.ts";

/** Where an identity service endpoint is served (identity-service-api: `/_matrix/identity/v2/...`). */
export function identityPath(path: string): string {
  return `/_matrix/identity/v2${path}`;
}

/**
 * "required": an identity service access token, and the current terms accepted (when `terms` is not
 * false); "optional": checked the same way when one is given; "none": not read.
 */
export type IdentityAuth = "required" | "optional" | "none";

export interface IdentityRequest<Body> {
  readonly body: Body;
  readonly query: Record<string, string | string[] | undefined>;
  readonly params: Record<string, string>;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly method: HttpMethod;
  /** The path as routed, without the query string. */
  readonly path: string;
  readonly ip: string;
  readonly log: FastifyBaseLogger;
  /** The token's user, when the request carried a valid identity service access token. */
  readonly userId: string | undefined;
  /** The access token as given, for /account/logout. */
  readonly accessToken: string | undefined;
}

export interface IdentityEndpoint<Body = JsonObject> {
  readonly name: string;
  readonly method: HttpMethod;
  /** Under `/_matrix/identity/v2`, or absolute when it starts with `/_matrix/`. */
  readonly path: string;
  readonly auth: IdentityAuth;
  /** Whether the terms must have been accepted (identity-service-api#terms-of-service); true by default. */
  readonly terms?: boolean;
  readonly schema?: JsonSchema;
  handler(request: IdentityRequest<Body>): Promise<MatrixResponse>;
}

/** Anything with its body type erased, for lists of endpoints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint types its own body
export type AnyIdentityEndpoint = IdentityEndpoint<any>;

/** Who holds a token, and whether a user accepted every current policy. */
export interface IdentityAuthenticator {
  userOfToken(token: string): Promise<string | undefined>;
  hasAcceptedTerms(userId: string): Promise<boolean>;
}

/** The token as stored: its SHA-256, so that the database holds no usable token. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const ajv = new Ajv({ strict: false, allErrors: false });

export function missingParams(message: string): MatrixError {
  return new MatrixError("M_MISSING_PARAMS", message, 400);
}

export function invalidParam(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

function validationError(validate: ValidateFunction): MatrixError {
  const first = validate.errors?.[0];
  if (first?.keyword === "required") {
    const missing = (first.params as { missingProperty?: string }).missingProperty ?? "a parameter";
    return missingParams(`Missing parameter: ${missing}${first.instancePath === "" ? "" : ` in ${first.instancePath}`}`);
  }
  const where = first === undefined || first.instancePath === "" ? "the request" : first.instancePath.slice(1).replaceAll("/", ".");
  return invalidParam(`Invalid ${where}: ${first?.message ?? "does not match the schema"}`);
}

/**
 * The body: a JSON object, or (identity-service-api: "for backwards compatibility ... deprecated")
 * `application/x-www-form-urlencoded` fields, whose integers are taken as numbers. Empty is {}:
 * /account/logout takes none (identity-service-api#api-standards).
 */
function parseBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (raw === undefined || raw.length === 0) return {};
  if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded") === true) {
    const fields: JsonObject = {};
    for (const [key, value] of new URLSearchParams(raw.toString("utf8"))) fields[key] = /^\d{1,15}$/.test(value) && key === "send_attempt" ? Number(value) : value;
    return fields;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new MatrixError("M_NOT_JSON", "Content not JSON", 400);
  }
  if (!isJsonObject(value)) throw new MatrixError("M_BAD_JSON", "Content must be a JSON object", 400);
  return value;
}

/** The endpoint as the HTTP layer serves it. */
export function toEndpoint<Body>(endpoint: IdentityEndpoint<Body>, authenticator: IdentityAuthenticator): Endpoint {
  const path = endpoint.path.startsWith("/_matrix/") ? endpoint.path : identityPath(endpoint.path);
  const validate = endpoint.schema === undefined ? undefined : ajv.compile(endpoint.schema);
  const hasBody = endpoint.method === "POST" || endpoint.method === "PUT";
  return {
    name: `identity.${endpoint.name}`,
    method: endpoint.method,
    paths: [path],
    resource: "identity",
    auth: "none",
    ...(hasBody ? { body: "raw" as const } : {}),
    handler: async (request: MatrixRequest) => {
      let userId: string | undefined;
      const accessToken = endpoint.auth === "none" ? undefined : accessTokenOf(request.headers, request.query);
      if (endpoint.auth !== "none") {
        if (accessToken !== undefined) {
          userId = await authenticator.userOfToken(accessToken);
          // identity-service-api#authentication: "When credentials are required but missing or invalid ... M_UNAUTHORIZED".
          if (userId === undefined) throw new MatrixError("M_UNAUTHORIZED", "Unrecognised access token", 401);
        } else if (endpoint.auth === "required") {
          throw new MatrixError("M_UNAUTHORIZED", "Missing access token", 401);
        }
        // identity-service-api#terms-of-service: "All endpoints which support authentication can return M_TERMS_NOT_SIGNED".
        if (userId !== undefined && endpoint.terms !== false && !(await authenticator.hasAcceptedTerms(userId))) {
          throw new MatrixError("M_TERMS_NOT_SIGNED", "Please accept our updated terms of service before continuing", 403);
        }
      }
      const contentType = request.headers["content-type"];
      const body = hasBody ? parseBody(request.rawBody, typeof contentType === "string" ? contentType : undefined) : undefined;
      if (validate !== undefined && !validate(hasBody ? body : { ...request.query })) throw validationError(validate);
      return await endpoint.handler({
        body: body as Body,
        query: request.query,
        params: request.params,
        headers: request.headers,
        method: endpoint.method,
        path,
        ip: request.ip,
        log: request.log,
        userId,
        accessToken,
      });
    },
  };
}

/** A query parameter given once, or undefined; given twice it is an invalid parameter. */
export function queryParam(request: IdentityRequest<unknown>, name: string): string | undefined {
  const value = request.query[name];
  if (Array.isArray(value)) throw invalidParam(`${name} must be given once`);
  return value;
}

/** identity-service-api: client secrets and session IDs are "[0-9a-zA-Z.=_-]", 1 to 255 characters. */
export function checkClientSecret(clientSecret: string): void {
  if (!isClientSecret(clientSecret)) throw invalidParam("client_secret must be 1 to 255 of the characters [0-9a-zA-Z.=_-]");
}
