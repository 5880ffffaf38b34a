// Request authentication (server-server-api#request-authentication): the JSON object a request's
// signature covers, signing our outgoing requests and verifying incoming ones.
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { signJson, verifyJsonSignature } from "../../core/crypto/signing.ts";
import { MatrixError } from "../../core/errors.ts";
import { parseServerName } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import type { FederationRequestInfo } from "../../http/app.ts";
import { formatXMatrixAuthorization, parseXMatrixAuthorization, XMatrixHeaderError } from "./x-matrix.ts";

export interface SignedRequestParts {
  readonly method: string;
  /** The request target: path and query string as sent, without scheme or host. */
  readonly uri: string;
  readonly origin: string;
  readonly destination: string;
  /** The JSON body, when the request has one. */
  readonly content?: JsonValue | undefined;
}

/** Step 1: the object whose signature authenticates a request. */
export function requestJson(parts: SignedRequestParts): JsonObject {
  const json: JsonObject = { method: parts.method, uri: parts.uri, origin: parts.origin, destination: parts.destination };
  if (parts.content !== undefined) json["content"] = parts.content;
  return json;
}

/** Step 2: the Authorization header value for a request of ours. */
export function signRequest(parts: SignedRequestParts, key: SigningKey): string {
  const signed = signJson(requestJson(parts), parts.origin, key);
  const sig = ((signed.signatures[parts.origin] as JsonObject)[key.keyId]) as string;
  return formatXMatrixAuthorization({ origin: parts.origin, destination: parts.destination, key: key.keyId, sig });
}

/** The keyring as request verification needs it (the KeyRing of the event pipeline has the same shape). */
export interface VerifyKeySource {
  getVerifyKey(serverName: string, keyId: string, minimumValidUntilTs: number): Promise<Uint8Array | undefined>;
}

function unauthorized(message: string): MatrixError {
  return new MatrixError("M_UNAUTHORIZED", message, 401);
}

/** Verifies the X-Matrix signature of incoming requests to `serverName`; answers the origin. */
export class FederationAuthenticator {
  constructor(
    private readonly serverName: string,
    private readonly keys: VerifyKeySource,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(request: FederationRequestInfo): Promise<string> {
    if (request.authorization === undefined) throw unauthorized("Missing Authorization headers");
    let credentials;
    try {
      credentials = parseXMatrixAuthorization(request.authorization);
    } catch (err) {
      if (err instanceof XMatrixHeaderError) throw unauthorized(`Malformed Authorization header: ${err.message}`);
      throw err;
    }
    const { origin, destination, key, sig } = credentials;
    if (parseServerName(origin) === undefined) throw unauthorized("The origin in the Authorization header is not a server name");
    // "If this property is included, but the value does not match the receiving server's name,
    // the receiving server must deny the request with an HTTP status code 401 Unauthorized."
    if (destination !== undefined && destination !== this.serverName) {
      throw unauthorized(`This request is for ${destination}, not for this server`);
    }
    // Only keys valid now sign requests: old_verify_keys "are only valid for signing events".
    const publicKey = await this.keys.getVerifyKey(origin, key, this.now());
    if (publicKey === undefined) throw unauthorized(`No valid key ${key} of ${origin} was found`);
    const content = request.body === undefined ? undefined : (request.body as JsonValue);
    if (content !== undefined && !isJsonObject(content)) throw unauthorized("The request body is not a JSON object");
    // The destination is always ours in the signed object: servers signed it before the header carried it.
    const signed: JsonObject = {
      ...requestJson({ method: request.method, uri: request.uri, origin, destination: this.serverName, content }),
      signatures: { [origin]: { [key]: sig } },
    };
    if (!verifyJsonSignature(signed, origin, key, publicKey)) throw unauthorized(`Invalid signature for server ${origin} with key ${key}`);
    return origin;
  }
}
