// Single sign-on in the browser (modules/sso_login.md; sso_login_redirect.yaml): the redirects to
// the identity provider, and the provider's callback at Synapse's path. Served only when
// oidc_providers lists a provider; without one these paths are unknown (M_UNRECOGNIZED).
import { clientPaths, HttpReply, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { escapeHtml, htmlPage } from "../../../http/html-page.ts";
import { OIDC_CALLBACK_PATH, type SsoOutcome, type SsoService } from "../../users/sso/sso-service.ts";
import { queryParam } from "./requester.ts";

/** The provider-choosing endpoint's path, without the provider's ID. */
const REDIRECT_PATH = "/_matrix/client/v3/login/sso/redirect";

export function ssoEndpoints(sso: SsoService): Endpoint[] {
  const redirect: Endpoint = {
    name: "client.sso_redirect",
    method: "GET",
    paths: clientPaths("/login/sso/redirect"),
    resource: "client",
    auth: "none",
    rateLimit: "rc_login_address",
    handler: async (req) => reply(await sso.start(undefined, queryParam(req, "redirectUrl"), REDIRECT_PATH)),
  };

  const redirectToIdp: Endpoint = {
    name: "client.sso_redirect_idp",
    method: "GET",
    paths: clientPaths("/login/sso/redirect/:idpId", { r0: false }),
    resource: "client",
    auth: "none",
    rateLimit: "rc_login_address",
    handler: async (req) => reply(await sso.start(req.params["idpId"] ?? "", queryParam(req, "redirectUrl"), REDIRECT_PATH)),
  };

  const callback: Endpoint = {
    name: "client.sso_oidc_callback",
    method: "GET",
    paths: [OIDC_CALLBACK_PATH],
    resource: "client",
    auth: "none",
    rateLimit: "rc_login_address",
    handler: async (req) => reply(await sso.callback(searchParams(req), cookieHeader(req))),
  };

  // client-server-api#fallback: the m.login.sso stage of user-interactive auth, done in a browser.
  const fallback: Endpoint = {
    name: "client.sso_uia_fallback",
    method: "GET",
    paths: clientPaths("/auth/m.login.sso/fallback/web"),
    resource: "client",
    auth: "none",
    rateLimit: "rc_login_address",
    handler: async (req) => reply(await sso.reauthenticate(queryParam(req, "session"), queryParam(req, "idp_id"), FALLBACK_PATH)),
  };

  return [redirect, redirectToIdp, callback, fallback];
}

const FALLBACK_PATH = "/_matrix/client/v3/auth/m.login.sso/fallback/web";

// client-server-api#fallback: the script the page runs once the stage is done.
const AUTH_DONE_SCRIPT =
  '<script>if (window.onAuthDone) { window.onAuthDone(); } else if (window.opener && window.opener.postMessage) { window.opener.postMessage("authDone", "*"); }</script>';

function reply(outcome: SsoOutcome): HttpReply {
  // Every page and redirect here is for one browser, one time.
  const noStore = { "cache-control": "no-store" };
  switch (outcome.kind) {
    case "redirect":
      return HttpReply.raw(302, "", "text/plain", { ...noStore, location: outcome.location, ...(outcome.setCookie === undefined ? {} : { "set-cookie": outcome.setCookie }) });
    case "choose": {
      const items = outcome.providers.map((p) => `<li><a href="${escapeHtml(p.url)}">${escapeHtml(p.name)}</a></li>`).join("");
      return withHeaders(htmlPage(200, "Choose how to log in", `<ul>${items}</ul>`, true), noStore);
    }
    case "confirm": {
      const client = new URL(outcome.clientUrl);
      const message =
        `You are logged in as ${escapeHtml(outcome.userId)}. <strong>${escapeHtml(client.host)}</strong> asks to use your account. ` +
        `Continue only if you started this login there: <a href="${escapeHtml(outcome.clientUrl)}">Continue to ${escapeHtml(client.host)}</a>.`;
      return withHeaders(htmlPage(200, "Continue to your account?", message, true), { ...noStore, "set-cookie": outcome.clearCookie });
    }
    case "reauthenticate": {
      // modules/sso_login.md, security considerations: confirm the operation before the provider, which may not ask.
      const items = outcome.providers.map((p) => `<li><a href="${escapeHtml(p.url)}">Continue with ${escapeHtml(p.name)}</a></li>`).join("");
      const message =
        `A client asks to do this with your account ${escapeHtml(outcome.userId)}: <code>${escapeHtml(outcome.endpoint)}</code>. ` +
        `To allow it, log in again with single sign-on. If you did not expect this, your account may be compromised!<ul>${items}</ul>`;
      return withHeaders(htmlPage(200, "Confirm it is you", message, true), noStore);
    }
    case "reauthenticated":
      return withHeaders(htmlPage(200, "Done", `You can close this window and go back to your client.${AUTH_DONE_SCRIPT}`, true), { ...noStore, "set-cookie": outcome.clearCookie });
    case "error":
      return withHeaders(htmlPage(outcome.status, outcome.title, outcome.message), { ...noStore, ...(outcome.clearCookie === undefined ? {} : { "set-cookie": outcome.clearCookie }) });
  }
}

function withHeaders(page: HttpReply, headers: Record<string, string>): HttpReply {
  return new HttpReply(page.status, page.payload, { ...page.headers, ...headers });
}

function searchParams(req: MatrixRequest): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) params.append(key, v);
  }
  return params;
}

function cookieHeader(req: MatrixRequest): string | undefined {
  const header = req.headers["cookie"];
  return Array.isArray(header) ? header.join("; ") : header;
}
