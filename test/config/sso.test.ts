// Single sign-on config: Synapse's `oidc_providers` list and `sso` section, read with Synapse's keys
// and defaults; bad values are refused naming the key, unsupported SSO forms are warned of.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/index.ts";
import { renderClaimTemplate } from "../../src/core/sso/claim-template.ts";

const HEADER = "server_name: example.org\n";
const parse = (yaml: string) => parseConfigText(HEADER + yaml, "/srv/weft/homeserver.yaml");

// The least a provider needs; JSON is YAML, so the cases below can spread and override it.
const MINIMAL = { idp_id: "example", issuer: "https://id.example.org/", client_id: "weft", client_secret: "s3cret" };
const withProviders = (...providers: Array<Record<string, unknown>>) => parse(`oidc_providers: ${JSON.stringify(providers)}\n`);
const withProvider = (provider: Record<string, unknown>) => withProviders(provider);
const without = (key: string): Record<string, unknown> => Object.fromEntries(Object.entries(MINIMAL).filter(([k]) => k !== key));

/** Asserts that parsing throws a ConfigError naming `keyPath`, with a message matching `message`. */
function refuses(run: () => unknown, keyPath: string, message: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.keyPath, keyPath);
    assert.ok(err.message.startsWith(`${keyPath}: `), err.message);
    assert.match(err.message, message);
    return true;
  });
}

const GITHUB = `
oidc_providers:
  - idp_id: github
    idp_name: GitHub
    idp_icon: "mxc://example.org/github-logo"
    idp_brand: github
    issuer: "https://github.com/"
    client_id: "a-client-id"
    client_secret: "a-client-secret"
    scopes: [openid, profile]
    user_mapping_provider:
      config:
        subject_claim: "id"
        localpart_template: "{{ user.login }}"
        display_name_template: "{{ user.name }}"
        email_template: "{{ user.email | lower }}"
`;

describe("the SSO configuration", () => {
  it("has no providers and no whitelisted clients by default", () => {
    const { config, warnings } = parse("");
    assert.deepEqual(config.sso.oidcProviders, []);
    assert.deepEqual(config.sso.clientWhitelist, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(parse("oidc_providers:\n").config.sso.oidcProviders, [], "an empty oidc_providers key is none");
    assert.deepEqual(parse("oidc_providers: []\n").config.sso.oidcProviders, []);
  });

  it("reads a Synapse provider, prefixing its idp_id with oidc-", () => {
    const { config, warnings } = parse(GITHUB);
    assert.deepEqual(warnings, []);
    assert.equal(config.sso.oidcProviders.length, 1);
    const p = config.sso.oidcProviders[0]!;
    assert.equal(p.idpId, "oidc-github");
    assert.equal(p.idpName, "GitHub");
    assert.equal(p.idpIcon, "mxc://example.org/github-logo");
    assert.equal(p.idpBrand, "github");
    assert.equal(p.issuer, "https://github.com/");
    assert.equal(p.clientId, "a-client-id");
    assert.equal(p.clientSecret, "a-client-secret");
    assert.deepEqual(p.scopes, ["openid", "profile"]);
    assert.equal(p.subjectClaim, "id");
    assert.equal(p.localpartTemplate.source, "{{ user.login }}");
    assert.equal(p.displayNameTemplate?.source, "{{ user.name }}");
    assert.equal(p.emailTemplate?.source, "{{ user.email | lower }}");
    const claims = { login: "octocat", name: "The Octocat", email: "Octo@GitHub.com" };
    assert.equal(renderClaimTemplate(p.localpartTemplate, claims), "octocat");
    assert.equal(renderClaimTemplate(p.displayNameTemplate!, claims), "The Octocat");
    assert.equal(renderClaimTemplate(p.emailTemplate!, claims), "octo@github.com");
  });

  it("has Synapse's defaults for what a provider leaves out", () => {
    const { config, warnings } = withProvider(MINIMAL);
    assert.deepEqual(warnings, []);
    const p = config.sso.oidcProviders[0]!;
    assert.equal(p.idpId, "oidc-example");
    assert.equal(p.idpName, "OIDC");
    assert.equal(p.idpIcon, undefined);
    assert.equal(p.idpBrand, undefined);
    assert.deepEqual(p.scopes, ["openid"]);
    assert.equal(p.pkceMethod, "auto");
    assert.equal(p.clientAuthMethod, "client_secret_basic");
    assert.equal(p.enableRegistration, true);
    assert.equal(p.allowExistingUsers, false);
    assert.equal(p.discover, true);
    assert.equal(p.skipVerification, false);
    assert.equal(p.userinfoClaims, false);
    assert.equal(p.subjectClaim, "sub");
    assert.equal(p.localpartTemplate.source, "{{ user.preferred_username }}");
    assert.equal(renderClaimTemplate(p.localpartTemplate, { preferred_username: "alice" }), "alice");
    assert.equal(p.displayNameTemplate, undefined);
    assert.equal(p.emailTemplate, undefined);
    assert.deepEqual(p.endpoints, { authorization: undefined, token: undefined, userinfo: undefined, jwks: undefined });
  });

  it("reads the other provider keys", () => {
    const p = withProvider({
      ...MINIMAL,
      client_auth_method: "client_secret_post",
      pkce_method: "always",
      allow_existing_users: true,
      enable_registration: false,
      user_profile_method: "userinfo_endpoint",
      discover: false,
      authorization_endpoint: "https://id.example.org/auth",
      token_endpoint: "https://id.example.org/token",
      userinfo_endpoint: "https://id.example.org/userinfo",
      jwks_uri: "https://id.example.org/jwks",
    }).config.sso.oidcProviders[0]!;
    assert.equal(p.clientAuthMethod, "client_secret_post");
    assert.equal(p.pkceMethod, "always");
    assert.equal(p.allowExistingUsers, true);
    assert.equal(p.enableRegistration, false);
    assert.equal(p.userinfoClaims, true);
    assert.equal(p.discover, false);
    assert.deepEqual(p.endpoints, {
      authorization: "https://id.example.org/auth",
      token: "https://id.example.org/token",
      userinfo: "https://id.example.org/userinfo",
      jwks: "https://id.example.org/jwks",
    });
    assert.equal(withProvider({ ...MINIMAL, pkce_method: "never" }).config.sso.oidcProviders[0]!.pkceMethod, "never");
  });

  it("takes the claims from userinfo when the openid scope is not asked for", () => {
    const p = withProvider({ ...MINIMAL, scopes: ["read:user"] }).config.sso.oidcProviders[0]!;
    assert.equal(p.userinfoClaims, true);
    const q = withProvider({
      ...MINIMAL,
      scopes: ["read:user"],
      discover: false,
      authorization_endpoint: "https://github.com/login/oauth/authorize",
      token_endpoint: "https://github.com/login/oauth/access_token",
      userinfo_endpoint: "https://api.github.com/user",
    }).config.sso.oidcProviders[0]!;
    assert.equal(q.endpoints.jwks, undefined, "no jwks_uri is needed without an ID token");
  });

  it("reads several providers in order", () => {
    const { config } = withProviders(MINIMAL, { ...MINIMAL, idp_id: "other.one_2~x-y" });
    assert.deepEqual(
      config.sso.oidcProviders.map((p) => p.idpId),
      ["oidc-example", "oidc-other.one_2~x-y"],
    );
  });

  // Synapse's config/oidc.py keeps idp_id "oidc" unprefixed (for configs migrated from oidc_config,
  // whose users' external IDs are stored under "oidc"), and takes the mapping's old module name.
  it("keeps Synapse's exceptions: idp_id oidc unprefixed, the legacy mapping module name", () => {
    assert.equal(withProvider({ ...MINIMAL, idp_id: "oidc" }).config.sso.oidcProviders[0]!.idpId, "oidc");
    assert.doesNotThrow(() => withProvider({ ...MINIMAL, user_mapping_provider: { module: "synapse.handlers.oidc_handler.JinjaOidcMappingProvider" } }));
  });

  it("needs no client_secret with client_auth_method none", () => {
    const p = withProvider({ ...without("client_secret"), client_auth_method: "none" }).config.sso.oidcProviders[0]!;
    assert.equal(p.clientAuthMethod, "none");
    assert.equal(p.clientSecret, undefined);
  });

  it("reads sso.client_whitelist", () => {
    const { config, warnings } = parse("sso:\n  client_whitelist:\n    - https://app.example.org/\n    - https://other.example.org/login\n");
    assert.deepEqual(config.sso.clientWhitelist, ["https://app.example.org/", "https://other.example.org/login"]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(parse("sso: {client_whitelist: []}\n").config.sso.clientWhitelist, []);
    assert.deepEqual(parse("sso:\n").config.sso.clientWhitelist, []);
  });

  it("allows an http issuer with skip_verification, warning of it", () => {
    const { config, warnings } = withProvider({ ...MINIMAL, issuer: "http://localhost:8080/", skip_verification: true });
    const p = config.sso.oidcProviders[0]!;
    assert.equal(p.issuer, "http://localhost:8080/");
    assert.equal(p.skipVerification, true);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^oidc_providers\[0\]\.skip_verification: .*testing only/);
  });

  it("warns that oidc_config, saml2_config and cas_config are ignored", () => {
    const { config, warnings } = parse(
      "oidc_config:\n  enabled: true\n  issuer: https://id.example.org/\n  client_id: weft\nsaml2_config:\n  sp_config: {}\ncas_config:\n  enabled: true\n",
    );
    assert.deepEqual(config.sso.oidcProviders, []);
    assert.equal(warnings.length, 3);
    for (const key of ["oidc_config", "saml2_config", "cas_config"]) {
      assert.ok(
        warnings.some((w) => w.startsWith(`config key ${key} `) && w.endsWith(": ignored")),
        `${key}: ${JSON.stringify(warnings)}`,
      );
    }
  });

  it("reads attribute_requirements, with value or one_of", () => {
    const p = withProvider({ ...MINIMAL, attribute_requirements: [{ attribute: "groups", value: "staff" }, { attribute: "tier", one_of: ["gold", "silver"] }] }).config.sso.oidcProviders[0]!;
    assert.deepEqual(p.attributeRequirements, [
      { attribute: "groups", values: ["staff"] },
      { attribute: "tier", values: ["gold", "silver"] },
    ]);
    refuses(() => withProvider({ ...MINIMAL, attribute_requirements: [{ attribute: "groups" }] }), "oidc_providers[0].attribute_requirements[0].value", /either value or one_of/);
    refuses(() => withProvider({ ...MINIMAL, attribute_requirements: [{ value: "staff" }] }), "oidc_providers[0].attribute_requirements[0].attribute", /is required/);
  });

  it("warns of the keys it does not read, and of the Synapse keys it ignores", () => {
    const { warnings } = withProvider({
      ...MINIMAL,
      attribute_requirements: [{ attribute: "group", value: "staff" }],
      backchannel_logout_enabled: true,
      frobnicate: 1,
      user_mapping_provider: {
        module: "synapse.handlers.oidc.JinjaOidcMappingProvider",
        config: { confirm_localpart: true, extra_attributes: {}, localpart_template: "{{ user.login }}", wibble: 2 },
      },
    });
    const expected = [
      "config key oidc_providers[0].user_mapping_provider.module",
      "config key oidc_providers[0].user_mapping_provider.config.confirm_localpart",
      "config key oidc_providers[0].user_mapping_provider.config.extra_attributes",
      "unknown or not yet supported config key oidc_providers[0].user_mapping_provider.config.wibble",
      "config key oidc_providers[0].backchannel_logout_enabled",
      "unknown or not yet supported config key oidc_providers[0].frobnicate",
    ];
    for (const start of expected) assert.ok(warnings.some((w) => w.startsWith(start)), `${start}: ${JSON.stringify(warnings)}`);
    assert.equal(warnings.length, expected.length, JSON.stringify(warnings));

    const sso = parse("sso:\n  template_dir: /srv/templates\n  update_profile_information: true\n  bogus: 1\n");
    assert.equal(sso.config.sso.updateProfileInformation, true);
    assert.equal(sso.warnings.length, 2, JSON.stringify(sso.warnings));
    assert.ok(sso.warnings.some((w) => w.startsWith("config key sso.template_dir ")));
    assert.ok(sso.warnings.includes("unknown or not yet supported config key sso.bogus: ignored"));
  });

  describe("refuses a bad provider, naming the key", () => {
    it("with an idp_id outside [A-Za-z0-9._~-] (without one, it is Synapse's default, oidc)", () => {
      assert.equal(withProvider(without("idp_id")).config.sso.oidcProviders[0]!.idpId, "oidc");
      refuses(() => withProvider({ ...MINIMAL, idp_id: "my idp" }), "oidc_providers[0].idp_id", /may only contain/);
      refuses(() => withProvider({ ...MINIMAL, idp_id: "a/b" }), "oidc_providers[0].idp_id", /may only contain/);
      refuses(() => withProvider({ ...MINIMAL, idp_id: "x".repeat(251) }), "oidc_providers[0].idp_id", /may only contain/);
      refuses(() => withProvider({ ...MINIMAL, idp_id: "" }), "oidc_providers[0].idp_id", /non-empty string/);
      refuses(() => withProvider({ ...MINIMAL, idp_id: 7 }), "oidc_providers[0].idp_id", /non-empty string/);
      assert.equal(withProvider({ ...MINIMAL, idp_id: "x".repeat(250) }).config.sso.oidcProviders[0]!.idpId, `oidc-${"x".repeat(250)}`);
    });

    it("with an idp_icon not an mxc URI, an idp_brand outside sso_login_flow's grammar, an issuer not a URL", () => {
      refuses(() => withProvider({ ...MINIMAL, idp_icon: "https://example.org/logo.png" }), "oidc_providers[0].idp_icon", /mxc/);
      refuses(() => withProvider({ ...MINIMAL, idp_brand: "GitHub" }), "oidc_providers[0].idp_brand", /a-z/);
      refuses(() => withProvider({ ...MINIMAL, issuer: "not-a-url", skip_verification: true }), "oidc_providers[0].issuer", /URL/);
    });

    it("without issuer, client_id or (with the default auth method) client_secret", () => {
      refuses(() => withProvider(without("issuer")), "oidc_providers[0].issuer", /is required/);
      refuses(() => withProvider(without("client_id")), "oidc_providers[0].client_id", /is required/);
      refuses(() => withProvider(without("client_secret")), "oidc_providers[0].client_secret", /is required with client_auth_method client_secret_basic/);
      refuses(
        () => withProvider({ ...without("client_secret"), client_auth_method: "client_secret_post" }),
        "oidc_providers[0].client_secret",
        /client_secret_post/,
      );
      refuses(() => withProvider({ ...MINIMAL, client_auth_method: "private_key_jwt" }), "oidc_providers[0].client_auth_method", /must be one of/);
      refuses(() => withProvider({ ...MINIMAL, client_secret_jwt_key: { key: "k", jwt_header: { alg: "ES256" } } }), "oidc_providers[0].client_secret_jwt_key", /not supported/);
    });

    it("with an http issuer, unless skip_verification is set", () => {
      refuses(() => withProvider({ ...MINIMAL, issuer: "http://id.example.org/" }), "oidc_providers[0].issuer", /must be an https URL/);
      refuses(() => withProvider({ ...MINIMAL, issuer: "http://id.example.org/", skip_verification: false }), "oidc_providers[0].issuer", /https/);
      refuses(() => withProvider({ ...MINIMAL, skip_verification: "yes" }), "oidc_providers[0].skip_verification", /true or false/);
    });

    it("with discover: false and no endpoints", () => {
      const undiscovered = { ...MINIMAL, discover: false };
      const auth = { authorization_endpoint: "https://id.example.org/auth" };
      const token = { token_endpoint: "https://id.example.org/token" };
      refuses(() => withProvider(undiscovered), "oidc_providers[0].authorization_endpoint", /is required when discover is false/);
      refuses(() => withProvider({ ...undiscovered, ...auth }), "oidc_providers[0].token_endpoint", /is required when discover is false/);
      refuses(() => withProvider({ ...undiscovered, ...auth, ...token }), "oidc_providers[0].jwks_uri", /is required when discover is false/);
      refuses(
        () => withProvider({ ...undiscovered, ...auth, ...token, jwks_uri: "https://id.example.org/jwks", user_profile_method: "userinfo_endpoint" }),
        "oidc_providers[0].userinfo_endpoint",
        /is required/,
      );
      refuses(() => withProvider({ ...undiscovered, ...auth, ...token, scopes: ["profile"] }), "oidc_providers[0].userinfo_endpoint", /is required/);
      const p = withProvider({ ...undiscovered, ...auth, ...token, jwks_uri: "https://id.example.org/jwks" }).config.sso.oidcProviders[0]!;
      assert.equal(p.discover, false);
      assert.equal(p.endpoints.jwks, "https://id.example.org/jwks");
      refuses(() => withProvider({ ...MINIMAL, discover: "no" }), "oidc_providers[0].discover", /true or false/);
    });

    it("with an endpoint that is not an http(s) URL", () => {
      refuses(() => withProvider({ ...MINIMAL, token_endpoint: "ftp://id.example.org/token" }), "oidc_providers[0].token_endpoint", /http\(s\) URL/);
      refuses(() => withProvider({ ...MINIMAL, jwks_uri: "/jwks" }), "oidc_providers[0].jwks_uri", /http\(s\) URL/);
    });

    it("with a template that is not {{ user.<claim> }}, or an unknown filter", () => {
      const mapping = (config: Record<string, unknown>) => withProvider({ ...MINIMAL, user_mapping_provider: { config } });
      const at = "oidc_providers[0].user_mapping_provider.config";
      refuses(() => mapping({ localpart_template: "{{ foo }}" }), `${at}.localpart_template`, /user\.<claim>/);
      refuses(() => mapping({ display_name_template: "{{ user.name | title }}" }), `${at}.display_name_template`, /unknown filter "title"/);
      refuses(() => mapping({ email_template: "{% if user.email %}x{% endif %}" }), `${at}.email_template`, /placeholders/);
      refuses(() => mapping({ localpart_template: "" }), `${at}.localpart_template`, /non-empty string/);
      refuses(() => mapping({ subject_claim: 3 }), `${at}.subject_claim`, /non-empty string/);
      refuses(() => withProvider({ ...MINIMAL, user_mapping_provider: { config: "x" } }), `${at}`, /must be a mapping/);
    });

    it("with a user_mapping_provider module other than Synapse's default", () => {
      refuses(
        () => withProvider({ ...MINIMAL, user_mapping_provider: { module: "my_module.MyMappingProvider" } }),
        "oidc_providers[0].user_mapping_provider.module",
        /JinjaOidcMappingProvider/,
      );
      const { config } = withProvider({ ...MINIMAL, user_mapping_provider: { module: "synapse.handlers.oidc.JinjaOidcMappingProvider", config: { subject_claim: "id" } } });
      assert.equal(config.sso.oidcProviders[0]!.subjectClaim, "id");
    });

    it("with an idp_id another provider has", () => {
      refuses(() => withProviders(MINIMAL, { ...MINIMAL, idp_id: "other" }, { ...MINIMAL, client_id: "again" }), "oidc_providers[2].idp_id", /oidc-example is used by another provider/);
    });

    it("with an unknown pkce_method or user_profile_method", () => {
      refuses(() => withProvider({ ...MINIMAL, pkce_method: "sometimes" }), "oidc_providers[0].pkce_method", /must be one of auto, always, never, got "sometimes"/);
      refuses(() => withProvider({ ...MINIMAL, user_profile_method: "id_token" }), "oidc_providers[0].user_profile_method", /must be one of/);
    });

    it("of the wrong shape", () => {
      refuses(() => parse("oidc_providers: {idp_id: x}\n"), "oidc_providers", /must be a list/);
      refuses(() => parse("oidc_providers: [github]\n"), "oidc_providers[0]", /must be a mapping/);
      refuses(() => withProvider({ ...MINIMAL, scopes: "openid" }), "oidc_providers[0].scopes", /must be a list/);
      refuses(() => withProvider({ ...MINIMAL, scopes: ["openid", ""] }), "oidc_providers[0].scopes[1]", /non-empty string/);
      refuses(() => parse("sso: {client_whitelist: https://app.example.org/}\n"), "sso.client_whitelist", /must be a list/);
      refuses(() => parse("sso: [x]\n"), "sso", /must be a mapping/);
    });
  });
});
