// The SSO tests' homeserver config and browser: the steps a browser takes through the login (the
// redirect, the stand-in provider's login, the callback), with redirects followed by hand.
import assert from "node:assert/strict";
import { ACCOUNTS_YAML } from "../homeserver/api/client/helpers.ts";
import type { TestHomeserver } from "../homeserver/harness.ts";
import type { OidcStandIn } from "./oidc-stand-in.ts";

export const PUBLIC_BASEURL = "https://matrix.test.local/";
export const CLIENT = "https://client.test.local/after-login";

/** One provider's entry of oidc_providers. */
export function providerYaml(idp: OidcStandIn, options: { id?: string; name?: string; keys?: readonly string[] } = {}): string[] {
  return [
    `  - idp_id: ${options.id ?? "test"}`,
    `    idp_name: ${options.name ?? "Test IdP"}`,
    "    idp_brand: test-brand",
    `    issuer: ${idp.issuer}`,
    `    client_id: ${idp.clientId}`,
    `    client_secret: ${idp.clientSecret}`,
    "    scopes: [openid, profile, email]",
    "    skip_verification: true",
    "    user_mapping_provider:",
    "      config:",
    '        localpart_template: "{{ user.preferred_username }}"',
    '        display_name_template: "{{ user.name }}"',
    '        email_template: "{{ user.email }}"',
    ...(options.keys ?? []).map((line) => `    ${line}`),
  ];
}

export function ssoYaml(providers: ReadonlyArray<readonly string[]>, ssoKeys: readonly string[] = []): string {
  return [ACCOUNTS_YAML, `public_baseurl: ${PUBLIC_BASEURL}`, "oidc_providers:", ...providers.flat(), "sso:", `  client_whitelist: ["${CLIENT}"]`, ...ssoKeys.map((l) => `  ${l}`)].join("\n");
}

export interface BrowserStep {
  readonly status: number;
  readonly location: string | undefined;
  readonly setCookie: string | undefined;
  readonly body: string;
}

export async function get(url: string, cookie?: string): Promise<BrowserStep> {
  const res = await fetch(url, { redirect: "manual", headers: cookie === undefined ? {} : { cookie } });
  return { status: res.status, location: res.headers.get("location") ?? undefined, setCookie: res.headers.get("set-cookie") ?? undefined, body: await res.text() };
}

/** A URL on public_baseurl, as the test server's own. */
function onTestServer(hs: TestHomeserver, url: string): string {
  const parsed = new URL(url);
  assert.equal(`${parsed.protocol}//${parsed.host}/`, PUBLIC_BASEURL);
  return `${hs.baseUrl}${parsed.pathname}${parsed.search}`;
}

/** The browser's way up to the callback: the redirect, the provider's login; returns the callback URL (on the test server) and the cookie. */
export async function toCallback(hs: TestHomeserver, redirectPath: string, redirectUrl = CLIENT): Promise<{ callback: string; cookie: string }> {
  const start = await get(`${hs.baseUrl}${redirectPath}?redirectUrl=${encodeURIComponent(redirectUrl)}`);
  assert.equal(start.status, 302, start.body);
  assert.ok(start.location !== undefined && start.setCookie !== undefined);
  assert.match(start.setCookie, /HttpOnly/);
  assert.match(start.setCookie, /SameSite=Lax/);
  assert.match(start.setCookie, /Secure/);
  const cookie = start.setCookie.split(";")[0] as string;
  const atIdp = await get(start.location);
  assert.equal(atIdp.status, 302, atIdp.body);
  return { callback: onTestServer(hs, atIdp.location as string), cookie };
}

/** The whole login for a whitelisted client: the login token the client's URL receives. */
export async function ssoLoginToken(hs: TestHomeserver, redirectPath = "/_matrix/client/v3/login/sso/redirect/oidc-test"): Promise<string> {
  const { callback, cookie } = await toCallback(hs, redirectPath);
  const done = await get(callback, cookie);
  assert.equal(done.status, 302, done.body);
  const back = new URL(done.location as string);
  assert.equal(`${back.origin}${back.pathname}`, CLIENT);
  return back.searchParams.get("loginToken") as string;
}
