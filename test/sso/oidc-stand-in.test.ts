// The stand-in OpenID Connect provider passes a real relying party's checks (openid-client):
// discovery, the code flow with PKCE, ID token signature and claims, userinfo; and it refuses
// what a provider must refuse (a reused code, a wrong code_verifier), and reports nextError.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as client from "openid-client";
import { startOidcProvider, type OidcStandIn } from "./oidc-stand-in.ts";

// No query of its own: openid-client sends as redirect_uri the callback URL stripped of its whole query.
const redirectUri = "http://127.0.0.1:1/_synapse/client/oidc/callback";

// Starts a flow and returns where /authorize sent the browser, with what the client must remember.
async function authorize(config: client.Configuration, extra: Record<string, string> = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile email",
    state: expectedState,
    nonce: expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    ...extra,
  });
  const response = await fetch(url, { redirect: "manual" });
  assert.equal(response.status, 302);
  const location = response.headers.get("location");
  assert.ok(location);
  return { location: new URL(location), pkceCodeVerifier, expectedState, expectedNonce };
}

const discover = (provider: OidcStandIn, auth?: client.ClientAuth) =>
  client.discovery(new URL(provider.issuer), provider.clientId, provider.clientSecret, auth, { execute: [client.allowInsecureRequests] });

describe("the stand-in OpenID Connect provider", () => {
  let provider: OidcStandIn;
  let config: client.Configuration;

  before(async () => {
    provider = await startOidcProvider();
    config = await discover(provider);
  });
  after(() => provider.close());

  it("runs the code flow with PKCE for the default user", async () => {
    assert.match(provider.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(provider.clientId, "weft-test");
    const flow = await authorize(config);
    assert.equal(flow.location.origin + flow.location.pathname, redirectUri);
    assert.equal(flow.location.searchParams.get("state"), flow.expectedState);

    const last = provider.authorizeRequests.at(-1);
    assert.equal(last?.get("client_id"), "weft-test");
    assert.equal(last?.get("code_challenge_method"), "S256");
    assert.equal(last?.get("nonce"), flow.expectedNonce);

    const tokens = await client.authorizationCodeGrant(config, flow.location, flow);
    assert.equal(tokens.token_type.toLowerCase(), "bearer");
    assert.equal(tokens.expires_in, 300);
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.sub, "alice-sub");
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.aud, "weft-test");
    assert.equal(claims.nonce, flow.expectedNonce);
    assert.equal(claims.preferred_username, "alice");
    assert.equal(claims.name, "Alice Liddell");
    assert.equal(claims.email, "alice@example.org");
    assert.equal(provider.tokenRequests.at(-1)?.auth, "client_secret_post");

    const info = await client.fetchUserInfo(config, tokens.access_token, "alice-sub");
    assert.deepEqual(info, { sub: "alice-sub", preferred_username: "alice", name: "Alice Liddell", email: "alice@example.org" });
  });

  it("logs in as nextUser, with client_secret_basic too", async () => {
    provider.nextUser = { sub: "bob-sub", claims: { preferred_username: "bob", name: "Bob" } };
    try {
      const basicConfig = await discover(provider, client.ClientSecretBasic(provider.clientSecret));
      const flow = await authorize(basicConfig);
      const tokens = await client.authorizationCodeGrant(basicConfig, flow.location, flow);
      assert.equal(provider.tokenRequests.at(-1)?.auth, "client_secret_basic");
      assert.equal(tokens.claims()?.sub, "bob-sub");
      assert.equal(tokens.claims()?.preferred_username, "bob");
      assert.equal(tokens.claims()?.email, undefined);
    } finally {
      provider.nextUser = { sub: "alice-sub", claims: { preferred_username: "alice", name: "Alice Liddell", email: "alice@example.org" } };
    }
  });

  it("refuses a code used twice", async () => {
    const flow = await authorize(config);
    await client.authorizationCodeGrant(config, flow.location, flow);
    await assert.rejects(client.authorizationCodeGrant(config, flow.location, flow), (err: unknown) => {
      assert.ok(err instanceof client.ResponseBodyError);
      assert.equal(err.error, "invalid_grant");
      assert.equal(err.status, 400);
      return true;
    });
  });

  it("refuses a wrong code_verifier", async () => {
    const flow = await authorize(config);
    await assert.rejects(
      client.authorizationCodeGrant(config, flow.location, { ...flow, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
      (err: unknown) => err instanceof client.ResponseBodyError && err.error === "invalid_grant" && /PKCE verification/.test(err.error_description ?? ""),
    );
  });

  it("refuses a wrong client secret", async () => {
    const wrong = await client.discovery(new URL(provider.issuer), provider.clientId, "not-the-secret", undefined, {
      execute: [client.allowInsecureRequests],
    });
    const flow = await authorize(wrong);
    await assert.rejects(
      client.authorizationCodeGrant(wrong, flow.location, flow),
      (err: unknown) => err instanceof client.ResponseBodyError && err.error === "invalid_client" && err.status === 401,
    );
  });

  it("redirects back with nextError once", async () => {
    provider.nextError = "access_denied";
    const failed = await authorize(config);
    assert.equal(failed.location.searchParams.get("error"), "access_denied");
    assert.equal(failed.location.searchParams.get("state"), failed.expectedState);
    assert.equal(failed.location.searchParams.get("code"), null);
    assert.equal(provider.nextError, undefined);
    await assert.rejects(client.authorizationCodeGrant(config, failed.location, failed), client.AuthorizationResponseError);
    const next = await authorize(config);
    assert.ok(next.location.searchParams.get("code"));
  });

  it("refuses an unknown client_id or response_type with 400", async () => {
    for (const query of ["client_id=someone-else&response_type=code", "client_id=weft-test&response_type=token"]) {
      const response = await fetch(`${provider.issuer}/authorize?${query}&redirect_uri=${encodeURIComponent(redirectUri)}`, { redirect: "manual" });
      assert.equal(response.status, 400);
      await response.text();
    }
  });

  it("keeps the query the redirect_uri already has", async () => {
    const withQuery = `${redirectUri}?idp=test`;
    const response = await fetch(`${provider.issuer}/authorize?client_id=weft-test&response_type=code&state=s1&redirect_uri=${encodeURIComponent(withQuery)}`, { redirect: "manual" });
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get("location") ?? "");
    assert.equal(location.searchParams.get("idp"), "test");
    assert.equal(location.searchParams.get("state"), "s1");
    assert.ok(location.searchParams.get("code"));
  });

  it("answers userinfo only with a valid access token", async () => {
    const response = await fetch(`${provider.issuer}/userinfo`, { headers: { Authorization: "Bearer nope" } });
    assert.equal(response.status, 401);
    await response.text();
  });

  it("with requirePkce, refuses a code obtained without a code_challenge", async () => {
    const strict = await startOidcProvider({ requirePkce: true, clientId: "strict", clientSecret: "s3cret:+&" });
    try {
      assert.equal(strict.clientId, "strict");
      const strictConfig = await discover(strict, client.ClientSecretBasic(strict.clientSecret));
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(strictConfig, { redirect_uri: redirectUri, scope: "openid", state });
      const location = new URL((await fetch(url, { redirect: "manual" })).headers.get("location") ?? "");
      await assert.rejects(
        client.authorizationCodeGrant(strictConfig, location, { expectedState: state }),
        (err: unknown) => err instanceof client.ResponseBodyError && err.error === "invalid_grant" && /PKCE is required/.test(err.error_description ?? ""),
      );
      // With PKCE the same provider accepts, and the Basic credentials with reserved characters decode right.
      const flow = await authorize(strictConfig);
      const tokens = await client.authorizationCodeGrant(strictConfig, flow.location, flow);
      assert.equal(tokens.claims()?.aud, "strict");
    } finally {
      await strict.close();
    }
  });
});
