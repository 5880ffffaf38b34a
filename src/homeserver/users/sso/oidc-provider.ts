// One OpenID Connect provider, as the homeserver's SSO login talks to it (openid-client): the
// authorization request it sends the browser to, and, at the callback, the code exchanged for
// tokens whose ID token (signature, issuer, audience, expiry, nonce) openid-client verifies.
import * as oidc from "openid-client";
import type { OidcProviderConfig } from "../../../config/sso.ts";

/** What the login remembers between the authorization request and the callback. */
export interface AuthorizationChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string | undefined;
}

/** How long a request to the provider may take, in seconds. */
const REQUEST_TIMEOUT_S = 30;

export class OidcProvider {
  readonly config: OidcProviderConfig;
  readonly #redirectUri: string;
  #client: Promise<oidc.Configuration> | undefined;

  constructor(config: OidcProviderConfig, redirectUri: string) {
    this.config = config;
    this.#redirectUri = redirectUri;
  }

  /** The URL of the provider's login, and what the callback must match. */
  async authorizationRequest(): Promise<{ url: string; checks: AuthorizationChecks }> {
    const client = await this.#configuration();
    const pkce = this.config.pkceMethod === "always" || (this.config.pkceMethod === "auto" && client.serverMetadata().supportsPKCE("S256"));
    const codeVerifier = pkce ? oidc.randomPKCECodeVerifier() : undefined;
    const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier };
    const parameters: Record<string, string> = {
      redirect_uri: this.#redirectUri,
      scope: this.config.scopes.join(" "),
      state: checks.state,
      nonce: checks.nonce,
    };
    if (codeVerifier !== undefined) {
      parameters["code_challenge"] = await oidc.calculatePKCECodeChallenge(codeVerifier);
      parameters["code_challenge_method"] = "S256";
    }
    return { url: oidc.buildAuthorizationUrl(client, parameters).href, checks };
  }

  /**
   * The claims of the user the provider logged in, from the callback's URL: the code exchanged,
   * the ID token verified (or, with user_profile_method: userinfo_endpoint, the userinfo answer).
   * Throws what openid-client throws when the provider's answers do not check out.
   */
  async claims(callbackUrl: URL, checks: AuthorizationChecks): Promise<Record<string, unknown>> {
    const client = await this.#configuration();
    const openid = this.config.scopes.includes("openid");
    const tokens = await oidc.authorizationCodeGrant(client, callbackUrl, {
      expectedState: checks.state,
      expectedNonce: openid ? checks.nonce : undefined,
      pkceCodeVerifier: checks.codeVerifier,
      idTokenExpected: openid,
    });
    const idClaims = tokens.claims();
    if (!this.config.userinfoClaims && idClaims !== undefined) return { ...idClaims };
    // userinfo's `sub` must be the ID token's when there is one (OpenID Connect Core 5.3.2).
    return { ...(await oidc.fetchUserInfo(client, tokens.access_token, idClaims?.sub ?? oidc.skipSubjectCheck)) };
  }

  /** The client, from discovery (tried again at the next login if it failed) or from the config's endpoints. */
  #configuration(): Promise<oidc.Configuration> {
    this.#client ??= this.#connect().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }

  async #connect(): Promise<oidc.Configuration> {
    const c = this.config;
    const auth = c.clientAuthMethod === "none" ? oidc.None() : c.clientAuthMethod === "client_secret_post" ? oidc.ClientSecretPost(c.clientSecret) : oidc.ClientSecretBasic(c.clientSecret);
    const execute = c.skipVerification ? [oidc.allowInsecureRequests] : [];
    const overrides = Object.fromEntries(
      Object.entries({
        authorization_endpoint: c.endpoints.authorization,
        token_endpoint: c.endpoints.token,
        userinfo_endpoint: c.endpoints.userinfo,
        jwks_uri: c.endpoints.jwks,
      }).filter(([, v]) => v !== undefined),
    ) as Partial<oidc.ServerMetadata>;
    let server: oidc.ServerMetadata = { issuer: c.issuer, ...overrides };
    if (c.discover) {
      const discovered = await oidc.discovery(new URL(c.issuer), c.clientId, c.clientSecret, auth, { execute, timeout: REQUEST_TIMEOUT_S });
      if (Object.keys(overrides).length === 0) return discovered;
      server = { ...discovered.serverMetadata(), ...overrides };
    }
    const client = new oidc.Configuration(server, c.clientId, c.clientSecret, auth);
    client.timeout = REQUEST_TIMEOUT_S;
    for (const apply of execute) apply(client);
    return client;
  }
}
