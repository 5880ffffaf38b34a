// A stand-in OpenID Connect provider for the SSO tests: just enough of an identity provider
// (discovery, JWKS, authorization code flow with PKCE, ID tokens, userinfo) to drive the
// homeserver's login flow end to end, with no login page. The test picks who "logs in"
// (`nextUser`) or makes the next authorization fail (`nextError`) beforehand, and can look at
// what the homeserver sent (`authorizeRequests`, `tokenRequests`).
// Plain HTTP on 127.0.0.1: the homeserver under test allows insecure requests for it.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export interface OidcUser {
  sub: string;
  /** Extra claims put in the ID token and the userinfo answer (preferred_username, name, email...). */
  claims: Record<string, unknown>;
}

export interface OidcTokenRequest {
  /** The form body as received. */
  params: URLSearchParams;
  /** How the client authenticated, as far as it tried. */
  auth: "client_secret_basic" | "client_secret_post" | "none";
}

export interface OidcStandIn {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Who the next /authorize "logs in" as; stays until changed. */
  nextUser: OidcUser;
  /** When set, the next /authorize redirects back with `error=<it>` instead, then it is cleared. */
  nextError: string | undefined;
  /** The query of each /authorize request, in order. */
  readonly authorizeRequests: URLSearchParams[];
  /** Each /token request, in order. */
  readonly tokenRequests: OidcTokenRequest[];
  close(): Promise<void>;
}

export interface OidcStandInOptions {
  clientId?: string;
  clientSecret?: string;
  /** Refuse at /token any code whose /authorize had no code_challenge. */
  requirePkce?: boolean;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  scope: string;
  user: OidcUser;
  expiresAt: number;
}

interface IssuedAccessToken {
  user: OidcUser;
  expiresAt: number;
}

const TOKEN_LIFETIME_SECONDS = 300;
// Codes are meant to be redeemed at once; a short life catches a flow that stalls.
const CODE_LIFETIME_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024;

const defaultUser = (): OidcUser => ({
  sub: "alice-sub",
  claims: { preferred_username: "alice", name: "Alice Liddell", email: "alice@example.org" },
});

const randomToken = (): string => randomBytes(24).toString("base64url");

// Compares secrets without leaking their content through timing, like a real provider should.
const sameSecret = (a: string, b: string): boolean => {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
};

// RFC 6749 2.3.1: the Basic credentials are the form-urlencoded id and secret.
const formDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, " "));

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

const sendText = (res: ServerResponse, status: number, text: string): void => {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(text);
};

// Token endpoint errors must not be cached either (RFC 6749 5.2 with 5.1).
const tokenError = (res: ServerResponse, status: number, error: string, description: string, headers: Record<string, string> = {}): void =>
  sendJson(res, status, { error, error_description: description }, { "Cache-Control": "no-store", Pragma: "no-cache", ...headers });

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

// Appends parameters to a redirect URI, keeping the query it already has (RFC 6749 3.1.2).
const withQuery = (uri: string, params: Record<string, string | undefined>): string => {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return url.href;
};

export async function startOidcProvider(options: OidcStandInOptions = {}): Promise<OidcStandIn> {
  const clientId = options.clientId ?? "weft-test";
  const clientSecret = options.clientSecret ?? "weft-test-secret";
  const requirePkce = options.requirePkce ?? false;

  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const kid = `stand-in-${randomBytes(6).toString("hex")}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };

  const codes = new Map<string, PendingCode>();
  const accessTokens = new Map<string, IssuedAccessToken>();
  let issuer = "";

  const provider: OidcStandIn = {
    get issuer() {
      return issuer;
    },
    clientId,
    clientSecret,
    nextUser: defaultUser(),
    nextError: undefined,
    authorizeRequests: [],
    tokenRequests: [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections from fetch would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };

  const discovery = (res: ServerResponse): void =>
    sendJson(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      scopes_supported: ["openid", "profile", "email"],
      grant_types_supported: ["authorization_code"],
    });

  const authorize = (url: URL, res: ServerResponse): void => {
    const query = url.searchParams;
    provider.authorizeRequests.push(new URLSearchParams(query));
    const redirectUri = query.get("redirect_uri");
    const state = query.get("state") ?? undefined;
    // Without a usable redirect_uri there is nowhere to send an error: answer it here (RFC 6749 4.1.2.1).
    if (!redirectUri || !URL.canParse(redirectUri)) return sendText(res, 400, "missing or invalid redirect_uri");

    if (provider.nextError !== undefined) {
      const error = provider.nextError;
      provider.nextError = undefined;
      res.writeHead(302, { Location: withQuery(redirectUri, { error, state }) });
      return void res.end();
    }
    if (query.get("client_id") !== clientId) return sendText(res, 400, "unknown client_id");
    if (query.get("response_type") !== "code") return sendText(res, 400, "unsupported response_type: only code");

    const codeChallenge = query.get("code_challenge") ?? undefined;
    // Only S256 is offered; an absent method means "plain" (RFC 7636 4.3), which is refused too.
    if (codeChallenge !== undefined && query.get("code_challenge_method") !== "S256") {
      res.writeHead(302, { Location: withQuery(redirectUri, { error: "invalid_request", error_description: "code_challenge_method must be S256", state }) });
      return void res.end();
    }

    const code = randomToken();
    codes.set(code, {
      clientId,
      redirectUri,
      nonce: query.get("nonce") ?? undefined,
      codeChallenge,
      scope: query.get("scope") ?? "",
      // A copy, so a test changing nextUser afterwards does not alter a code already given.
      user: { sub: provider.nextUser.sub, claims: { ...provider.nextUser.claims } },
      expiresAt: Date.now() + CODE_LIFETIME_MS,
    });
    res.writeHead(302, { Location: withQuery(redirectUri, { code, state }) });
    res.end();
  };

  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    const body = await readBody(req);
    const params = new URLSearchParams(body);
    const authorization = req.headers.authorization;
    const basic = authorization !== undefined && /^basic /i.test(authorization);
    const postSecret = params.get("client_secret");
    const record: OidcTokenRequest = { params, auth: basic ? "client_secret_basic" : postSecret !== null ? "client_secret_post" : "none" };
    provider.tokenRequests.push(record);

    if (contentType !== "application/x-www-form-urlencoded") {
      return tokenError(res, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    }
    // RFC 6749 2.3: a client uses one authentication method per request.
    if (basic && postSecret !== null) return tokenError(res, 400, "invalid_request", "more than one client authentication method");

    let givenId: string | null;
    let givenSecret: string | null;
    if (basic) {
      const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      try {
        givenId = colon < 0 ? null : formDecode(decoded.slice(0, colon));
        givenSecret = colon < 0 ? null : formDecode(decoded.slice(colon + 1));
      } catch {
        givenId = givenSecret = null;
      }
      // A client_id in the body must then agree with the Basic one.
      const bodyId = params.get("client_id");
      if (bodyId !== null && bodyId !== givenId) givenId = null;
    } else {
      givenId = params.get("client_id");
      givenSecret = postSecret;
    }
    if (givenId !== clientId || givenSecret === null || !sameSecret(givenSecret, clientSecret)) {
      return tokenError(res, 401, "invalid_client", "client authentication failed", basic ? { "WWW-Authenticate": 'Basic realm="oidc-stand-in"' } : {});
    }

    if (params.get("grant_type") !== "authorization_code") {
      return tokenError(res, 400, "unsupported_grant_type", "only authorization_code is supported");
    }
    const code = params.get("code");
    const pending = code === null ? undefined : codes.get(code);
    // One use only: the code is gone whatever the outcome of this request.
    if (code !== null) codes.delete(code);
    if (!pending || pending.expiresAt < Date.now() || pending.clientId !== givenId) {
      return tokenError(res, 400, "invalid_grant", "unknown, used or expired code");
    }
    if (params.get("redirect_uri") !== pending.redirectUri) {
      return tokenError(res, 400, "invalid_grant", "redirect_uri differs from the one of the authorization request");
    }
    const verifier = params.get("code_verifier");
    if (pending.codeChallenge !== undefined) {
      const computed = verifier === null ? undefined : createHash("sha256").update(verifier, "ascii").digest("base64url");
      if (computed !== pending.codeChallenge) return tokenError(res, 400, "invalid_grant", "PKCE verification failed");
    } else if (requirePkce) {
      return tokenError(res, 400, "invalid_grant", "PKCE is required: the authorization request had no code_challenge");
    } else if (verifier !== null) {
      // A verifier without a challenge hints at a downgrade attack (OAuth 2.1 / RFC 9700 2.1.1).
      return tokenError(res, 400, "invalid_grant", "code_verifier given but no code_challenge was");
    }

    const accessToken = randomToken();
    const now = Math.floor(Date.now() / 1000);
    accessTokens.set(accessToken, { user: pending.user, expiresAt: (now + TOKEN_LIFETIME_SECONDS) * 1000 });
    const claims: Record<string, unknown> = { ...pending.user.claims };
    if (pending.nonce !== undefined) claims.nonce = pending.nonce;
    // The registered claims are set last so the user's claims cannot override them.
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setSubject(pending.user.sub)
      .setAudience(clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + TOKEN_LIFETIME_SECONDS)
      .sign(privateKey);
    sendJson(
      res,
      200,
      { access_token: accessToken, token_type: "Bearer", expires_in: TOKEN_LIFETIME_SECONDS, id_token: idToken, scope: pending.scope },
      { "Cache-Control": "no-store", Pragma: "no-cache" },
    );
  };

  const userinfo = (req: IncomingMessage, res: ServerResponse): void => {
    const match = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const issued = match?.[1] === undefined ? undefined : accessTokens.get(match[1]);
    if (!issued || issued.expiresAt < Date.now()) {
      res.writeHead(401, { "WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "application/json" });
      return void res.end(JSON.stringify({ error: "invalid_token" }));
    }
    sendJson(res, 200, { ...issued.user.claims, sub: issued.user.sub });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    const route = `${req.method ?? ""} ${url.pathname}`;
    const handle = async (): Promise<void> => {
      switch (route) {
        case "GET /.well-known/openid-configuration":
          return discovery(res);
        case "GET /jwks":
          return sendJson(res, 200, { keys: [publicJwk] });
        case "GET /authorize":
          return authorize(url, res);
        case "POST /token":
          return token(req, res);
        case "GET /userinfo":
          return userinfo(req, res);
        default:
          return sendText(res, 404, `no route for ${route}`);
      }
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `stand-in failure: ${String(err)}`);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}
