// Single sign-on through OpenID Connect providers (client-server-api#sso-client-login): Synapse's
// `oidc_providers` list and `sso` section, with the same keys and defaults, so that a Synapse
// config's providers work unchanged (and its users keep their external IDs: `idp_id` is
// prefixed with "oidc-" as Synapse does, but for `oidc` itself, the ID of Synapse's older
// single-provider form).
import { parseMxcUri } from "../core/identifiers/mxc.ts";
import { parseClaimTemplate, type ClaimTemplate } from "../core/sso/claim-template.ts";
import { ConfigError } from "./config-error.ts";
import { Section, describe, type ReadContext } from "./section.ts";

export interface OidcProviderConfig {
  /** The identity provider's ID as clients see it (`oidc-` and the configured `idp_id`). */
  readonly idpId: string;
  readonly idpName: string;
  readonly idpIcon: string | undefined;
  readonly idpBrand: string | undefined;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientAuthMethod: "client_secret_basic" | "client_secret_post" | "none";
  /** Read the endpoints from the issuer's /.well-known/openid-configuration (`discover`). */
  readonly discover: boolean;
  /** Endpoints given in the config (needed without discovery; override it otherwise). */
  readonly endpoints: {
    readonly authorization?: string | undefined;
    readonly token?: string | undefined;
    readonly userinfo?: string | undefined;
    readonly jwks?: string | undefined;
  };
  readonly scopes: readonly string[];
  readonly pkceMethod: "auto" | "always" | "never";
  /** `skip_verification`: plain-HTTP providers allowed. For testing only, as in Synapse. */
  readonly skipVerification: boolean;
  /** Claims from the userinfo endpoint rather than the ID token (`user_profile_method`). */
  readonly userinfoClaims: boolean;
  /** A new external ID may take over an existing account of the mapped localpart (`allow_existing_users`). */
  readonly allowExistingUsers: boolean;
  /** New accounts may be made for new external IDs (`enable_registration`). */
  readonly enableRegistration: boolean;
  /**
   * `attribute_requirements`: claims the user must have to log in, each equal to `value` or to one
   * of `one_of` (a list claim must contain one), as Synapse checks them.
   */
  readonly attributeRequirements: ReadonlyArray<{ readonly attribute: string; readonly values: readonly string[] }>;
  readonly subjectClaim: string;
  readonly localpartTemplate: ClaimTemplate;
  readonly displayNameTemplate: ClaimTemplate | undefined;
  readonly emailTemplate: ClaimTemplate | undefined;
}

export interface SsoConfig {
  readonly oidcProviders: readonly OidcProviderConfig[];
  /**
   * `sso.client_whitelist`: redirect URLs starting with one of these get the login token at once;
   * any other client is named on a page the user confirms first (client-server-api#security-considerations-1).
   */
  readonly clientWhitelist: readonly string[];
  /** `sso.update_profile_information`: at each login the display name becomes the provider's (display_name_template). */
  readonly updateProfileInformation: boolean;
}

const IDP_ID = /^[A-Za-z0-9._~-]{1,250}$/;
/** Synapse's default user mapping, under its current and its former module name. */
const DEFAULT_MAPPING_MODULES = ["synapse.handlers.oidc.JinjaOidcMappingProvider", "synapse.handlers.oidc_handler.JinjaOidcMappingProvider"];

export function readSso(root: Section): SsoConfig {
  const items = root.list("oidc_providers") ?? [];
  root.ignore("oidc_config", "(the single-provider form) is not supported; list the provider under oidc_providers");
  root.ignore("saml2_config", "SAML is not supported");
  root.ignore("cas_config", "CAS is not supported");
  const oidcProviders = items.map((item, i) => readProvider(root.ctx, item, `${root.keyPath("oidc_providers")}[${i}]`));
  const ids = new Set<string>();
  for (const [i, p] of oidcProviders.entries()) {
    if (ids.has(p.idpId)) throw new ConfigError(`${root.keyPath("oidc_providers")}[${i}].idp_id`, `${p.idpId} is used by another provider`);
    ids.add(p.idpId);
  }
  const sso = root.section("sso");
  const clientWhitelist = sso?.stringList("client_whitelist") ?? [];
  sso?.ignore("template_dir", "Weft's SSO pages are its own");
  const updateProfileInformation = sso?.boolean("update_profile_information", false) ?? false;
  sso?.finish();
  return { oidcProviders, clientWhitelist, updateProfileInformation };
}

function readProvider(ctx: ReadContext, item: unknown, path: string): OidcProviderConfig {
  const s = Section.of(ctx, item, path);
  const idpId = s.string("idp_id") ?? "oidc";
  if (!IDP_ID.test(idpId)) s.fail("idp_id", `may only contain A-Z, a-z, 0-9, ".", "_", "~" and "-", got ${describe(idpId)}`);
  const issuer = url(s, "issuer") ?? s.fail("issuer", "is required");
  const idpIcon = s.string("idp_icon");
  if (idpIcon !== undefined && parseMxcUri(idpIcon) === undefined) s.fail("idp_icon", `must be an mxc:// URI, got ${describe(idpIcon)}`);
  const idpBrand = s.string("idp_brand");
  // sso_login_flow's brand: "[a-z][a-z0-9_.-]*".
  if (idpBrand !== undefined && !/^[a-z][a-z0-9_.-]*$/.test(idpBrand)) s.fail("idp_brand", `must match [a-z][a-z0-9_.-]*, got ${describe(idpBrand)}`);
  const clientId = s.string("client_id") ?? s.fail("client_id", "is required");
  const clientSecret = s.string("client_secret");
  if (s.has("client_secret_jwt_key")) s.fail("client_secret_jwt_key", "is not supported: use client_secret");
  const clientAuthMethod = oneOf(s, "client_auth_method", ["client_secret_basic", "client_secret_post", "none"] as const, "client_secret_basic");
  if (clientAuthMethod !== "none" && clientSecret === undefined) s.fail("client_secret", `is required with client_auth_method ${clientAuthMethod}`);
  const discover = s.boolean("discover", true);
  const endpoints = {
    authorization: url(s, "authorization_endpoint"),
    token: url(s, "token_endpoint"),
    userinfo: url(s, "userinfo_endpoint"),
    jwks: url(s, "jwks_uri"),
  };
  const userProfileMethod = oneOf(s, "user_profile_method", ["auto", "userinfo_endpoint"] as const, "auto");
  const scopes = s.stringList("scopes") ?? ["openid"];
  if (!discover) {
    if (endpoints.authorization === undefined) s.fail("authorization_endpoint", "is required when discover is false");
    if (endpoints.token === undefined) s.fail("token_endpoint", "is required when discover is false");
    // Without the openid scope there is no ID token, so the claims come from userinfo.
    if (scopes.includes("openid") && endpoints.jwks === undefined) s.fail("jwks_uri", "is required when discover is false and the openid scope is asked for");
    if ((userProfileMethod === "userinfo_endpoint" || !scopes.includes("openid")) && endpoints.userinfo === undefined) {
      s.fail("userinfo_endpoint", "is required when the claims come from it");
    }
  }
  const skipVerification = s.boolean("skip_verification", false);
  if (!skipVerification && !issuer.startsWith("https://")) s.fail("issuer", "must be an https URL (skip_verification: true allows http, for testing only)");
  if (skipVerification) ctx.warnings.push(`${s.keyPath("skip_verification")}: the provider's TLS is not required; for testing only`);
  const mapping = s.section("user_mapping_provider");
  if (mapping?.has("module") === true && !DEFAULT_MAPPING_MODULES.includes(String(mapping.value("module")))) {
    mapping.fail("module", "only Synapse's default (JinjaOidcMappingProvider) mapping is supported");
  }
  mapping?.ignore("module", "names the default mapping");
  const mappingConfig = mapping?.section("config");
  mapping?.finish();
  const template = (key: string): ClaimTemplate | undefined => {
    const text = mappingConfig?.string(key);
    if (text === undefined || mappingConfig === undefined) return undefined;
    try {
      return parseClaimTemplate(text);
    } catch (err) {
      return mappingConfig.fail(key, (err as Error).message);
    }
  };
  const config: OidcProviderConfig = {
    idpId: idpId === "oidc" ? idpId : `oidc-${idpId}`,
    idpName: s.string("idp_name") ?? "OIDC",
    idpIcon,
    idpBrand,
    issuer,
    clientId,
    clientSecret,
    clientAuthMethod,
    discover,
    endpoints,
    scopes,
    pkceMethod: oneOf(s, "pkce_method", ["auto", "always", "never"] as const, "auto"),
    skipVerification,
    userinfoClaims: userProfileMethod === "userinfo_endpoint" || !scopes.includes("openid"),
    allowExistingUsers: s.boolean("allow_existing_users", false),
    enableRegistration: s.boolean("enable_registration", true),
    attributeRequirements: readAttributeRequirements(s),
    subjectClaim: mappingConfig?.string("subject_claim") ?? "sub",
    // Synapse asks the user to pick a localpart when there is no template; Weft maps the usual claim.
    localpartTemplate: template("localpart_template") ?? parseClaimTemplate("{{ user.preferred_username }}"),
    displayNameTemplate: template("display_name_template"),
    emailTemplate: template("email_template"),
  };
  mappingConfig?.ignore("confirm_localpart", "Weft maps the localpart without asking");
  mappingConfig?.ignore("extra_attributes", "has no use in Weft");
  mappingConfig?.finish();
  s.ignore("backchannel_logout_enabled", "is not supported yet");
  s.finish();
  return config;
}

function readAttributeRequirements(s: Section): OidcProviderConfig["attributeRequirements"] {
  return (s.list("attribute_requirements") ?? []).map((item, i) => {
    const r = Section.of(s.ctx, item, `${s.keyPath("attribute_requirements")}[${i}]`);
    const attribute = r.string("attribute") ?? r.fail("attribute", "is required");
    const value = r.string("value");
    const oneOfValues = r.stringList("one_of");
    if ((value === undefined) === (oneOfValues === undefined)) r.fail("value", "give either value or one_of");
    r.finish();
    return { attribute, values: value !== undefined ? [value] : (oneOfValues ?? []) };
  });
}

function oneOf<const T extends string>(s: Section, key: string, values: readonly T[], fallback: T): T {
  const v = s.string(key);
  if (v === undefined) return fallback;
  if (!(values as readonly string[]).includes(v)) s.fail(key, `must be one of ${values.join(", ")}, got ${describe(v)}`);
  return v as T;
}

function url(s: Section, key: string): string | undefined {
  const v = s.string(key);
  if (v !== undefined && !/^https?:\/\//.test(v)) s.fail(key, `must be an http(s) URL, got ${describe(v)}`);
  return v;
}
