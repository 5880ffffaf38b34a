// Single sign-on login (client-server-api#sso-client-login, modules/sso_login.md) through OpenID
// Connect providers. /login/sso/redirect sends the browser to the provider and sets a cookie naming
// the pending login; the provider sends it back to the callback, which must carry that cookie
// ("guard against unsolicited authentication attempts"). The provider's user is found by its
// subject, or given an account mapped from its claims; then the browser goes to the client's
// redirectUrl with a loginToken for m.login.token: at once for the clients of sso.client_whitelist,
// after the user confirms on a page naming the client for any other ("Homeservers SHOULD confirm
// with the user that they are happy to grant access to their matrix account to the site named in
// the redirectUrl").
//
// The same callback serves user-interactive auth (modules/sso_login.md#sso-during-user-interactive-authentication):
// the fallback page names what the client asks to do and links to the user's providers; once the
// provider's user is found to be the session's, the m.login.sso stage is completed in the session.
import { MatrixError } from "../../../core/errors.ts";
import { isHttpUrl, parseEmailAddress } from "../../../core/identifiers/threepid.ts";
import { mapToLocalpart, userId as buildUserId } from "../../../core/identifiers/index.ts";
import type { JsonObject } from "../../../core/json.ts";
import { renderClaimTemplate } from "../../../core/sso/claim-template.ts";
import type { OidcProviderConfig, SsoConfig } from "../../../config/sso.ts";
import type { ExternalIdStore } from "../../../storage/stores/external-ids.ts";
import { SSO_STAGE } from "../uia-stages.ts";
import { type AuthorizationChecks, OidcProvider } from "./oidc-provider.ts";

/** The path of the provider's callback (Synapse's, so that providers registered for Synapse work unchanged). */
export const OIDC_CALLBACK_PATH = "/_synapse/client/oidc/callback";
export const SSO_COOKIE = "weft_oidc_session";

/** How long a login may stay at the provider. */
const PENDING_LIFETIME_MS = 10 * 60_000;
/** Pending logins remembered at most (each a few hundred bytes); the oldest go first. */
const MAX_PENDING = 10_000;
/** Localparts tried for a new account: the mapped one, then with 1, 2... appended, as Synapse does. */
const MAX_LOCALPART_ATTEMPTS = 1000;

/** What the SSO login needs of the accounts. */
export interface SsoAccounts {
  readonly serverName: string;
  /** Throws a MatrixError (M_USER_IN_USE, M_INVALID_USERNAME, M_EXCLUSIVE...) unless a new account may take the localpart. */
  checkAvailable(localpart: string): Promise<void>;
  /** Creates the account without password or device; M_USER_IN_USE when it was taken meanwhile. */
  register(localpart: string, displayname: string | undefined): Promise<string>;
  /** Whether the account exists (deactivated or not). */
  exists(userId: string): Promise<boolean>;
  /** Whether the account was deactivated. */
  isDeactivated(userId: string): Promise<boolean>;
  /** Adds a validated email address to the new account; refused quietly when another account has it. */
  addEmail(userId: string, address: string): Promise<void>;
  issueLoginToken(userId: string): Promise<string>;
  /** Sets the display name as the user's own change would (announced in the user's rooms). */
  setDisplayname(userId: string, displayname: string): Promise<void>;
}

/** What the SSO pages need of user-interactive auth (uia.ts). */
export interface SsoUia {
  sessionOf(sessionId: string): { readonly userId: string | undefined; readonly endpoint: string } | undefined;
  completeOutOfBand(sessionId: string, type: string, userId: string): boolean;
}

/** What the endpoints answer a browser with. */
export type SsoOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookie?: string }
  /** The user confirms that the client may have the account (clientUrl is where the token goes). */
  | { readonly kind: "confirm"; readonly userId: string; readonly clientUrl: string; readonly clearCookie: string }
  | { readonly kind: "choose"; readonly providers: ReadonlyArray<{ readonly id: string; readonly name: string; readonly url: string }> }
  /** UIA: the user confirms the request (`endpoint`) by logging in again at one of these providers. */
  | { readonly kind: "reauthenticate"; readonly userId: string; readonly endpoint: string; readonly providers: ReadonlyArray<{ readonly id: string; readonly name: string; readonly url: string }> }
  /** UIA: the stage is done; the page tells the client (client-server-api#fallback). */
  | { readonly kind: "reauthenticated"; readonly clearCookie: string }
  | { readonly kind: "error"; readonly status: number; readonly title: string; readonly message: string; readonly clearCookie?: string };

interface PendingLogin {
  readonly idpId: string;
  /** A login for the client at redirectUrl, or the m.login.sso stage of a UIA session of userId. */
  readonly purpose: { readonly kind: "login"; readonly redirectUrl: string } | { readonly kind: "uia"; readonly sessionId: string; readonly userId: string };
  readonly checks: AuthorizationChecks;
  readonly expiresTs: number;
}

/** A page's message for a login that could not finish, also a thrown value inside this service. */
class SsoFailure extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

export class SsoService {
  readonly #providers = new Map<string, OidcProvider>();
  /** The callback's URL as the providers know it (public_baseurl's). */
  readonly #callback: string;
  readonly #whitelist: readonly string[];
  readonly #updateProfile: boolean;
  readonly #accounts: SsoAccounts;
  readonly #externalIds: ExternalIdStore;
  readonly #secureCookie: boolean;
  readonly #now: () => number;
  /** Pending logins by their state (the cookie's value), oldest first. In memory: a restart asks the user to start again. */
  readonly #pending = new Map<string, PendingLogin>();
  readonly #onError: (err: unknown, what: string) => void;
  readonly #uia: SsoUia;

  constructor(options: {
    config: SsoConfig;
    publicBaseurl: string;
    accounts: SsoAccounts;
    externalIds: ExternalIdStore;
    uia: SsoUia;
    onError: (err: unknown, what: string) => void;
    now?: () => number;
  }) {
    this.#callback = new URL(OIDC_CALLBACK_PATH.slice(1), options.publicBaseurl).href;
    for (const provider of options.config.oidcProviders) this.#providers.set(provider.idpId, new OidcProvider(provider, this.#callback));
    this.#whitelist = options.config.clientWhitelist;
    this.#updateProfile = options.config.updateProfileInformation;
    this.#accounts = options.accounts;
    this.#externalIds = options.externalIds;
    this.#secureCookie = options.publicBaseurl.startsWith("https:");
    this.#onError = options.onError;
    this.#uia = options.uia;
    this.#now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#providers.size > 0;
  }

  /** sso_login_flow's identity_providers. */
  identityProviders(): JsonObject[] {
    return [...this.#providers.values()].map(({ config: c }) => ({
      id: c.idpId,
      name: c.idpName,
      ...(c.idpIcon === undefined ? {} : { icon: c.idpIcon }),
      ...(c.idpBrand === undefined ? {} : { brand: c.idpBrand }),
    }));
  }

  /**
   * GET /login/sso/redirect[/{idpId}]: to the provider's login, or with several providers and none
   * chosen, a page to choose one. `redirectPath` is the chosen-provider endpoint's path without the ID.
   */
  async start(idpId: string | undefined, redirectUrl: string | undefined, redirectPath: string): Promise<SsoOutcome> {
    if (redirectUrl === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: redirectUrl", 400);
    if (!isHttpUrl(redirectUrl)) throw new MatrixError("M_INVALID_PARAM", "redirectUrl must be an http(s) URL", 400);
    if (idpId === undefined && this.#providers.size > 1) {
      const query = `?redirectUrl=${encodeURIComponent(redirectUrl)}`;
      return { kind: "choose", providers: [...this.#providers.values()].map(({ config: c }) => ({ id: c.idpId, name: c.idpName, url: `${redirectPath}/${encodeURIComponent(c.idpId)}${query}` })) };
    }
    const provider = idpId === undefined ? [...this.#providers.values()][0] : this.#providers.get(idpId);
    // sso_login_redirect.yaml 404: "encouraged to provide a user-friendly page".
    if (provider === undefined) return { kind: "error", status: 404, title: "Unknown identity provider", message: "The client asked to log in with an identity provider this server does not have." };
    return this.#toProvider(provider, { kind: "login", redirectUrl });
  }

  /**
   * GET /auth/m.login.sso/fallback/web?session=: without `idpId`, the page naming the request and
   * linking to the user's providers (`fallbackPath` with the session and idp_id); with it, to that
   * provider's login.
   */
  async reauthenticate(sessionId: string | undefined, idpId: string | undefined, fallbackPath: string): Promise<SsoOutcome> {
    const session = sessionId === undefined ? undefined : this.#uia.sessionOf(sessionId);
    if (sessionId === undefined || session?.userId === undefined) {
      return { kind: "error", status: 400, title: "This request has expired", message: "Go back to your client and try again." };
    }
    const userId = session.userId;
    const linked = (await this.#externalIds.forUser(userId)).map((e) => this.#providers.get(e.authProvider)).filter((p) => p !== undefined);
    if (linked.length === 0) return { kind: "error", status: 403, title: "Your account has no single sign-on", message: "Confirm with your password instead." };
    if (idpId === undefined) {
      const query = `?session=${encodeURIComponent(sessionId)}&idp_id=`;
      return { kind: "reauthenticate", userId, endpoint: session.endpoint, providers: linked.map(({ config: c }) => ({ id: c.idpId, name: c.idpName, url: `${fallbackPath}${query}${encodeURIComponent(c.idpId)}` })) };
    }
    const provider = linked.find((p) => p.config.idpId === idpId);
    if (provider === undefined) return { kind: "error", status: 404, title: "Unknown identity provider", message: "Your account does not log in with this identity provider." };
    return this.#toProvider(provider, { kind: "uia", sessionId, userId });
  }

  async #toProvider(provider: OidcProvider, purpose: PendingLogin["purpose"]): Promise<SsoOutcome> {
    let request: Awaited<ReturnType<OidcProvider["authorizationRequest"]>>;
    try {
      request = await provider.authorizationRequest();
    } catch (err) {
      this.#onError(err, `SSO: reaching the identity provider ${provider.config.idpId}`);
      return { kind: "error", status: 502, title: "The identity provider cannot be reached", message: "Try again later." };
    }
    this.#forgetExpired();
    if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value as string);
    this.#pending.set(request.checks.state, { idpId: provider.config.idpId, purpose, checks: request.checks, expiresTs: this.#now() + PENDING_LIFETIME_MS });
    return { kind: "redirect", location: request.url, setCookie: this.#cookie(request.checks.state, PENDING_LIFETIME_MS / 1000) };
  }

  /** GET the callback: the provider's answer (the query), with the browser's Cookie header. */
  async callback(query: URLSearchParams, cookieHeader: string | undefined): Promise<SsoOutcome> {
    const clearCookie = this.#cookie("", 0);
    // The URL the provider redirected to: openid-client takes its redirect_uri from it, which must be the registered one.
    const callbackUrl = new URL(`${this.#callback}?${query.toString()}`);
    const state = callbackUrl.searchParams.get("state");
    const pending = state === null ? undefined : this.#pending.get(state);
    // The state names a login this browser started (its cookie), once.
    if (state === null || pending === undefined || pending.expiresTs <= this.#now() || cookieValue(cookieHeader, SSO_COOKIE) !== state) {
      return { kind: "error", status: 400, title: "This login has expired or was not started here", message: "Go back to your client and log in again.", clearCookie };
    }
    this.#pending.delete(state);
    const provider = this.#providers.get(pending.idpId);
    if (provider === undefined) return { kind: "error", status: 400, title: "Unknown identity provider", message: "Go back to your client and log in again.", clearCookie };
    const refused = callbackUrl.searchParams.get("error");
    if (refused !== null) {
      const description = callbackUrl.searchParams.get("error_description");
      const message = refused === "access_denied" ? "The login was cancelled or refused at the identity provider." : `The identity provider answered: ${refused}${description === null ? "" : ` (${description})`}.`;
      return { kind: "error", status: 400, title: "You are not logged in", message, clearCookie };
    }
    try {
      let claims: Record<string, unknown>;
      try {
        claims = await provider.claims(callbackUrl, pending.checks);
      } catch (err) {
        this.#onError(err, `SSO: the answer of the identity provider ${provider.config.idpId}`);
        throw new SsoFailure(502, "The identity provider's answer could not be checked", "Go back to your client and try again.");
      }
      if (!meetsRequirements(provider.config, claims)) throw new SsoFailure(403, "You may not log in here", "Your account at the identity provider lacks what this server requires.");
      const purpose = pending.purpose;
      if (purpose.kind === "uia") {
        // The session's user must be the one the provider logged in, not merely someone it knows.
        const subject = subjectOf(provider.config, claims);
        const userId = await this.#externalIds.userFor(provider.config.idpId, subject);
        if (userId !== purpose.userId) throw new SsoFailure(403, "This is another account", "You logged in at the identity provider as someone else than the account that asked.");
        if (!this.#uia.completeOutOfBand(purpose.sessionId, SSO_STAGE, userId)) throw new SsoFailure(400, "This request has expired", "Go back to your client and try again.");
        return { kind: "reauthenticated", clearCookie };
      }
      const userId = await this.#accountFor(provider.config, claims);
      // m.login.token would refuse it (M_USER_DEACTIVATED): the browser hears it here, and no token is made.
      if (await this.#accounts.isDeactivated(userId)) throw new SsoFailure(403, "This account has been deactivated", `${userId} can no longer log in.`);
      const clientUrl = withLoginToken(purpose.redirectUrl, await this.#accounts.issueLoginToken(userId));
      if (this.#whitelisted(purpose.redirectUrl)) return { kind: "redirect", location: clientUrl, setCookie: clearCookie };
      return { kind: "confirm", userId, clientUrl, clearCookie };
    } catch (err) {
      if (err instanceof SsoFailure) return { kind: "error", status: err.status, title: err.title, message: err.message, clearCookie };
      throw err;
    }
  }

  /** The account of the provider's user: the one mapped to its subject, or a new one (or an existing one, if allowed). */
  async #accountFor(provider: OidcProviderConfig, claims: Record<string, unknown>): Promise<string> {
    const subject = subjectOf(provider, claims);
    const known = await this.#externalIds.userFor(provider.idpId, subject);
    if (known !== undefined) {
      if (this.#updateProfile && provider.displayNameTemplate !== undefined) {
        const displayname = renderClaimTemplate(provider.displayNameTemplate, claims).trim();
        if (displayname !== "") await this.#accounts.setDisplayname(known, displayname);
      }
      return known;
    }

    // appendices#mapping-from-other-character-sets: the template's text mapped onto the localpart grammar.
    const base = mapToLocalpart(renderClaimTemplate(provider.localpartTemplate, claims));
    if (base === "") throw new SsoFailure(502, "No user ID could be made for you", "The identity provider's answer lacks what this server makes user IDs from.");
    const displayname = provider.displayNameTemplate === undefined ? undefined : renderClaimTemplate(provider.displayNameTemplate, claims).trim() || undefined;
    let userId: string | undefined;
    for (let failures = 0; failures < MAX_LOCALPART_ATTEMPTS && userId === undefined; failures++) {
      const localpart = failures === 0 ? base : `${base}${failures}`;
      if (failures === 0 && provider.allowExistingUsers && (await this.#accounts.exists(buildUserId(localpart, this.#accounts.serverName)))) {
        userId = buildUserId(localpart, this.#accounts.serverName);
        break;
      }
      try {
        await this.#accounts.checkAvailable(localpart);
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === "M_USER_IN_USE") continue;
        if (err instanceof MatrixError) throw new SsoFailure(403, "No account could be made for you", err.message);
        throw err;
      }
      if (!provider.enableRegistration) throw new SsoFailure(403, "You have no account here", "This server makes no new accounts for this identity provider's users.");
      try {
        userId = await this.#accounts.register(localpart, displayname);
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === "M_USER_IN_USE") continue;
        throw err;
      }
      const email = provider.emailTemplate === undefined ? undefined : parseEmailAddress(renderClaimTemplate(provider.emailTemplate, claims));
      if (email !== undefined) await this.#accounts.addEmail(userId, email);
    }
    if (userId === undefined) throw new SsoFailure(409, "No user ID could be made for you", "Every user ID tried is taken.");
    // Two logins of one new subject at once: the first mapping stands, and both go to its account.
    if (!(await this.#externalIds.add(provider.idpId, subject, userId, this.#now()))) {
      return (await this.#externalIds.userFor(provider.idpId, subject)) ?? userId;
    }
    return userId;
  }

  #whitelisted(redirectUrl: string): boolean {
    return this.#whitelist.some((prefix) => redirectUrl.startsWith(prefix));
  }

  #forgetExpired(): void {
    const now = this.#now();
    for (const [state, login] of this.#pending) {
      if (login.expiresTs > now) break;
      this.#pending.delete(state);
    }
  }

  #cookie(value: string, maxAgeS: number): string {
    // Lax: the provider's redirect back is a top-level GET, which carries it; other sites' requests do not.
    return `${SSO_COOKIE}=${value}; Path=${OIDC_CALLBACK_PATH}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${this.#secureCookie ? "; Secure" : ""}`;
  }
}

/** attribute_requirements: each claim equal to one of its values, or a list claim containing one. */
function meetsRequirements(provider: OidcProviderConfig, claims: Record<string, unknown>): boolean {
  return provider.attributeRequirements.every(({ attribute, values }) => {
    const claim = Object.hasOwn(claims, attribute) ? claims[attribute] : undefined;
    const held = Array.isArray(claim) ? claim : [claim];
    return held.some((v) => typeof v === "string" && values.includes(v));
  });
}

/** The provider's ID of its user: the subject claim (`sub` unless configured). */
function subjectOf(provider: OidcProviderConfig, claims: Record<string, unknown>): string {
  const claim = claims[provider.subjectClaim];
  const subject = typeof claim === "string" ? claim : typeof claim === "number" ? String(claim) : "";
  if (subject === "") throw new SsoFailure(502, "The identity provider did not say who you are", `Its answer has no ${provider.subjectClaim} claim.`);
  return subject;
}

/** The redirectUrl with `loginToken` set, replacing any it had (sso_login.md, server behaviour 4). */
function withLoginToken(redirectUrl: string, loginToken: string): string {
  const url = new URL(redirectUrl);
  url.searchParams.delete("loginToken");
  url.searchParams.append("loginToken", loginToken);
  return url.href;
}

/** The named cookie's value in a Cookie header (RFC 6265 5.4: `name=value` pairs separated by `; `). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(";") ?? []) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

