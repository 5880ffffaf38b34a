// The homeserver as a client of identity servers (identity-service-api): looking a 3PID up for an
// invite, storing a third-party invite, binding and unbinding a user's 3PIDs. The client names the
// identity server (`id_server`, a server name) and gives its token for it (`id_access_token`);
// requests go over HTTPS through the federation transport, so ip_range_blacklist and the admin's
// extra CAs apply as they do to other servers.
import { MatrixError, type MatrixErrorCode } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { SigningKey } from "../../core/crypto/ed25519.ts";
import { lookupHash, type ThreepidMedium } from "../../core/identifiers/threepid.ts";
import { parseServerName, splitServerName } from "../../core/identifiers/index.ts";
import { signRequest } from "../federation/request-auth.ts";
import { TransportError, type HttpsTransport } from "../federation/transport.ts";

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The identity server answered an error, or could not be reached (`errcode` undefined). */
export class IdentityServerError extends Error {
  override name = "IdentityServerError";
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly errcode: string | undefined,
    readonly body: JsonObject | undefined,
  ) {
    super(message);
  }
}

/**
 * The identity server's failure as our client is told it (administrative_contact.yaml /3pid/bind:
 * "proxy any errors"): a 4xx keeps the identity server's errcode, message and status, but 401
 * becomes 403, since a client reads 401 as its own token refused here; a server that failed is
 * 502 M_UNKNOWN, and one that could not be reached 502 M_CONNECTION_FAILED.
 */
export function identityServerRefusal(err: IdentityServerError): MatrixError {
  const { status, errcode } = err;
  if (status !== undefined && status >= 400 && status < 500 && errcode !== undefined && /^[A-Z][A-Z0-9_]*$/.test(errcode)) {
    const message = typeof err.body?.["error"] === "string" ? err.body["error"] : err.message;
    return new MatrixError(errcode as MatrixErrorCode, message, status === 401 ? 403 : status);
  }
  return new MatrixError(status === undefined ? "M_CONNECTION_FAILED" : "M_UNKNOWN", err.message, 502);
}

/** Asks an identity server: its failure reaches the client as identityServerRefusal words it. */
export async function askIdentityServer<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    throw err instanceof IdentityServerError ? identityServerRefusal(err) : err;
  }
}

/** What v2_store_invite.yaml answers: the invite's token and the keys its signature will verify with. */
export interface StoredInvite {
  readonly token: string;
  readonly displayName: string;
  readonly publicKeys: ReadonlyArray<{ readonly public_key: string; readonly key_validity_url: string }>;
}

export interface IdentityServerClientOptions {
  readonly transport: HttpsTransport;
  readonly serverName: string;
  readonly signingKey: SigningKey;
}

export class IdentityServerClient {
  readonly #options: IdentityServerClientOptions;

  constructor(options: IdentityServerClientOptions) {
    this.#options = options;
  }

  /**
   * The user ID `address` is bound to, if any (identity-service-api#lookup): hashed with sha256 and
   * the server's pepper when it offers that, in the clear when it offers only `none`.
   */
  async lookup(idServer: string, idAccessToken: string, medium: ThreepidMedium, address: string): Promise<string | undefined> {
    const details = await this.#request(idServer, "GET", "/_matrix/identity/v2/hash_details", { token: idAccessToken });
    const algorithms = Array.isArray(details["algorithms"]) ? details["algorithms"] : [];
    const pepper = details["lookup_pepper"];
    let query: { algorithm: string; key: string; pepper: string };
    if (algorithms.includes("sha256") && typeof pepper === "string") query = { algorithm: "sha256", key: lookupHash(address, medium, pepper), pepper };
    else if (algorithms.includes("none")) query = { algorithm: "none", key: `${address} ${medium}`, pepper: typeof pepper === "string" ? pepper : "" };
    else throw new IdentityServerError(`${idServer} offers no lookup algorithm we know`, undefined, undefined, undefined);
    const answer = await this.#request(idServer, "POST", "/_matrix/identity/v2/lookup", {
      token: idAccessToken,
      body: { addresses: [query.key], algorithm: query.algorithm, pepper: query.pepper },
    });
    const mappings = answer["mappings"];
    const userId = isJsonObject(mappings) ? mappings[query.key] : undefined;
    return typeof userId === "string" ? userId : undefined;
  }

  /** POST /store-invite (v2_store_invite.yaml): the identity server keeps the invite and mails the invitee. */
  async storeInvite(idServer: string, idAccessToken: string, invite: JsonObject): Promise<StoredInvite> {
    const answer = await this.#request(idServer, "POST", "/_matrix/identity/v2/store-invite", { token: idAccessToken, body: invite });
    const token = answer["token"];
    const keys = answer["public_keys"];
    const displayName = answer["display_name"];
    if (typeof token !== "string" || typeof displayName !== "string" || !Array.isArray(keys)) {
      throw new IdentityServerError(`${idServer} answered store-invite without a token, display_name and public_keys`, 200, undefined, answer);
    }
    const publicKeys = keys.filter(
      (k): k is { public_key: string; key_validity_url: string } => isJsonObject(k) && typeof k["public_key"] === "string" && typeof k["key_validity_url"] === "string",
    );
    return { token, displayName, publicKeys };
  }

  /** POST /3pid/bind (v2_associations.yaml): the association the identity server signed. */
  async bind(idServer: string, idAccessToken: string, sid: string, clientSecret: string, userId: string): Promise<JsonObject> {
    return this.#request(idServer, "POST", "/_matrix/identity/v2/3pid/bind", { token: idAccessToken, body: { sid, client_secret: clientSecret, mxid: userId } });
  }

  /**
   * POST /3pid/unbind, signed by this homeserver (v2_associations.yaml: "The request is signed by the
   * homeserver which controls the user_id"), which needs no token of the user's.
   */
  async unbind(idServer: string, userId: string, medium: ThreepidMedium, address: string): Promise<void> {
    await this.#request(idServer, "POST", "/_matrix/identity/v2/3pid/unbind", { signed: true, body: { mxid: userId, threepid: { medium, address } } });
  }

  /**
   * Whether an identity server still holds a public key valid (identity-service-api#key-management,
   * GET /pubkey/isvalid and /pubkey/ephemeral/isvalid): asked at the m.room.third_party_invite's
   * `key_validity_url` as given, "rather than constructing a new one" (client-server-api
   * #third-party-invites), with `public_key` added to its query string. Throws IdentityServerError
   * when it cannot be asked or answers no `valid` boolean.
   */
  async isKeyValid(keyValidityUrl: string, publicKey: string): Promise<boolean> {
    let url: URL;
    try {
      url = new URL(keyValidityUrl);
    } catch {
      throw new IdentityServerError(`not a URL: ${JSON.stringify(keyValidityUrl)}`, undefined, undefined, undefined);
    }
    // Identity servers are reached over HTTPS only, like every other server (the transport's rules apply).
    if (url.protocol !== "https:" || url.username !== "" || url.password !== "") {
      throw new IdentityServerError(`key_validity_url is not a plain https URL: ${JSON.stringify(keyValidityUrl)}`, undefined, undefined, undefined);
    }
    url.searchParams.append("public_key", publicKey);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const response = await this.#exchange({ host, port: url.port === "" ? 443 : Number(url.port) }, url.host, "GET", `${url.pathname}${url.search}`, {});
    const valid = response.body?.["valid"];
    if (response.status !== 200 || typeof valid !== "boolean") {
      throw new IdentityServerError(`${url.host} answered the key validity check with HTTP ${response.status} and no valid boolean`, response.status, undefined, undefined);
    }
    return valid;
  }

  async #request(idServer: string, method: "GET" | "POST", path: string, options: { token?: string; body?: JsonObject; signed?: boolean }): Promise<JsonObject> {
    const name = parseServerName(idServer);
    if (name === undefined) throw new IdentityServerError(`not a server name: ${JSON.stringify(idServer)}`, undefined, undefined, undefined);
    const server = splitServerName(name);
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.signed === true) {
      const { serverName, signingKey } = this.#options;
      headers["authorization"] = signRequest({ method, uri: path, origin: serverName, destination: idServer, content: options.body }, signingKey);
    }
    const { status, body } = await this.#exchange(
      { host: server.host, port: server.port ?? 443 },
      idServer,
      method,
      path,
      headers,
      options.body === undefined ? undefined : JSON.stringify(options.body),
    );
    if (status < 200 || status >= 300) {
      const errcode = typeof body?.["errcode"] === "string" ? body["errcode"] : undefined;
      const error = typeof body?.["error"] === "string" ? body["error"] : `HTTP ${status}`;
      throw new IdentityServerError(`${idServer} answered ${status}: ${error}`, status, errcode, body);
    }
    if (body === undefined) throw new IdentityServerError(`${idServer} answered ${path} with no JSON object`, status, undefined, undefined);
    return body;
  }

  /** One request over HTTPS: the status and the JSON object answered, if it is one. */
  async #exchange(
    target: { host: string; port: number },
    hostHeader: string,
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; body: JsonObject | undefined }> {
    let response;
    try {
      response = await this.#options.transport.request({
        target,
        hostHeader,
        method,
        path,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: REQUEST_TIMEOUT_MS,
        maxResponseBytes: MAX_RESPONSE_BYTES,
      });
    } catch (err) {
      if (err instanceof TransportError) throw new IdentityServerError(`${hostHeader} could not be reached: ${err.message}`, undefined, undefined, undefined);
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(response.body.toString("utf8"));
    } catch {
      json = undefined;
    }
    return { status: response.status, body: isJsonObject(json) ? json : undefined };
  }
}
