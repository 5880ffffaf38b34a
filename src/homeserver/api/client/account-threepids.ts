// client-server-api#adding-account-administrative-contact-information (administrative_contact.yaml),
// and the requestToken endpoints of registration.yaml and password_management.yaml: the homeserver
// validates email addresses itself, and answers the submit URL it hands out.
import { MatrixError } from "../../../core/errors.ts";
import { isHttpUrl } from "../../../core/identifiers/threepid.ts";
import { escapeHtml, htmlPage } from "../../../http/html-page.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, HttpReply, type Endpoint, type JsonSchema } from "../../../http/endpoint.ts";
import type { BindRequest, ThreepidService } from "../../users/threepid-service.ts";
import { SUBMIT_TOKEN_PATH, type RequestTokenBody, type ThreepidValidation, type ValidationPurpose } from "../../users/threepid-validation.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

/** request_email_validation.yaml (with the deprecated id_server and id_access_token, which a homeserver validating itself ignores). */
const EMAIL_REQUEST_SCHEMA: JsonSchema = {
  type: "object",
  required: ["client_secret", "email", "send_attempt"],
  properties: {
    client_secret: { type: "string" },
    email: { type: "string" },
    send_attempt: { type: "integer" },
    next_link: { type: "string" },
    id_server: { type: "string" },
    id_access_token: { type: "string" },
  },
};

const THREEPID_SCHEMA: JsonSchema = {
  type: "object",
  required: ["medium", "address"],
  properties: { medium: { enum: ["email", "msisdn"] }, address: { type: "string" }, id_server: { type: "string" } },
};

const BIND_SCHEMA: JsonSchema = {
  type: "object",
  required: ["client_secret", "id_server", "id_access_token", "sid"],
  properties: { client_secret: { type: "string" }, id_server: { type: "string" }, id_access_token: { type: "string" }, sid: { type: "string" } },
};

/** Where each purpose's requestToken is served. */
const REQUEST_TOKEN_PATHS: ReadonlyArray<{ purpose: ValidationPurpose; path: string; name: string }> = [
  { purpose: "registration", path: "/register", name: "register" },
  { purpose: "password_reset", path: "/account/password", name: "password" },
  { purpose: "add_threepid", path: "/account/3pid", name: "account_3pid" },
];

export function threepidEndpoints(threepids: ThreepidService, validation: ThreepidValidation, options: { registrationEnabled: boolean }): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const { purpose, path, name } of REQUEST_TOKEN_PATHS) {
    const email: Endpoint<RequestTokenBody & JsonObject> = {
      name: `client.${name}_email_request_token`,
      method: "POST",
      paths: clientPaths(`${path}/email/requestToken`),
      resource: "client",
      auth: "none",
      rateLimit: "rc_3pid_validation",
      schema: EMAIL_REQUEST_SCHEMA,
      handler: async (req) => {
        // Synapse refuses validation for new 3PIDs when users may not change them.
        if (purpose === "add_threepid" && !threepids.changesEnabled) throw new MatrixError("M_FORBIDDEN", "3PID changes are disabled on this server", 400);
        // No mail for a registration that cannot happen (registration.yaml answers 403 M_FORBIDDEN when it is off).
        if (purpose === "registration" && !options.registrationEnabled) throw new MatrixError("M_FORBIDDEN", "Registration is disabled", 403);
        return validation.requestEmailToken(purpose, req.body);
      },
    };
    const msisdn: Endpoint = {
      name: `client.${name}_msisdn_request_token`,
      method: "POST",
      paths: clientPaths(`${path}/msisdn/requestToken`),
      resource: "client",
      auth: "none",
      handler: async () => {
        // administrative_contact.yaml: "M_THREEPID_MEDIUM_NOT_SUPPORTED: The homeserver does not
        // support adding phone numbers" (Weft sends no SMS, and trusts no identity server to).
        throw new MatrixError("M_THREEPID_MEDIUM_NOT_SUPPORTED", "This server does not validate phone numbers", 400);
      },
    };
    endpoints.push(email as Endpoint, msisdn);
  }

  // The submit URL of request_token_response.yaml: the identity service's /validate/email/submitToken,
  // POSTed by clients and opened (GET) from the link in the mail.
  const submit: Endpoint<{ sid: string; client_secret: string; token: string }> = {
    name: "client.email_submit_token",
    method: "POST",
    paths: [SUBMIT_TOKEN_PATH],
    resource: "client",
    auth: "none",
    rateLimit: "rc_3pid_validation",
    schema: {
      type: "object",
      required: ["sid", "client_secret", "token"],
      properties: { sid: { type: "string" }, client_secret: { type: "string" }, token: { type: "string" } },
    },
    handler: async (req) => {
      await validation.submitToken(req.body.sid, req.body.client_secret, req.body.token);
      return { success: true };
    },
  };

  const submitLink: Endpoint = {
    name: "client.email_submit_token_link",
    method: "GET",
    paths: [SUBMIT_TOKEN_PATH],
    resource: "client",
    auth: "none",
    rateLimit: "rc_3pid_validation",
    handler: async (req) => {
      const [sid, clientSecret, token] = [queryParam(req, "sid"), queryParam(req, "client_secret"), queryParam(req, "token")];
      if (sid === undefined || clientSecret === undefined || token === undefined) return htmlPage(400, "This link is incomplete", "Open the whole link from the mail.");
      let nextLink: string | undefined;
      try {
        ({ nextLink } = await validation.submitToken(sid, clientSecret, token));
      } catch (err) {
        if (err instanceof MatrixError) return htmlPage(400, "Your email address could not be validated", err.message);
        throw err;
      }
      // v2_email_associations.yaml next_link: "the identity server will redirect the user to this URL";
      // only an http(s) one (checked when it was given, and again here).
      if (nextLink !== undefined && isHttpUrl(nextLink)) return new HttpReply(302, { raw: "", contentType: "text/plain" }, { location: nextLink });
      const back = validation.clientBaseUrl;
      return htmlPage(200, "Your email address is validated", back === undefined ? "You can return to your client." : `You can return to <a href="${escapeHtml(back)}">your client</a>.`, true);
    },
  };

  const add: Endpoint<JsonObject & { sid: string; client_secret: string }> = {
    name: "client.account_3pid_add",
    method: "POST",
    paths: clientPaths("/account/3pid/add", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      required: ["client_secret", "sid"],
      properties: { auth: { type: "object" }, client_secret: { type: "string" }, sid: { type: "string" } },
    },
    handler: async (req) => {
      await threepids.add(nonGuestRequesterOf(req), req.body);
      return {};
    },
  };

  const remove: Endpoint<{ medium: "email" | "msisdn"; address: string; id_server?: string }> = {
    name: "client.account_3pid_delete",
    method: "POST",
    paths: clientPaths("/account/3pid/delete"),
    resource: "client",
    auth: "accessToken",
    schema: THREEPID_SCHEMA,
    handler: async (req) => ({ id_server_unbind_result: await threepids.delete(nonGuestRequesterOf(req), req.body.medium, req.body.address, req.body.id_server) }),
  };

  const unbind: Endpoint<{ medium: "email" | "msisdn"; address: string; id_server?: string }> = {
    name: "client.account_3pid_unbind",
    method: "POST",
    paths: clientPaths("/account/3pid/unbind", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: THREEPID_SCHEMA,
    handler: async (req) => ({ id_server_unbind_result: await threepids.unbind(nonGuestRequesterOf(req).userId, req.body.medium, req.body.address, req.body.id_server) }),
  };

  const bind: Endpoint<BindRequest> = {
    name: "client.account_3pid_bind",
    method: "POST",
    paths: clientPaths("/account/3pid/bind", { r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: BIND_SCHEMA,
    handler: async (req) => {
      await threepids.bind(nonGuestRequesterOf(req), req.body);
      return {};
    },
  };

  // administrative_contact.yaml POST /account/3pid (deprecated): "an equivalent to /3pid/bind".
  const legacyAdd: Endpoint<{ three_pid_creds: BindRequest }> = {
    name: "client.account_3pid_post",
    method: "POST",
    paths: clientPaths("/account/3pid"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["three_pid_creds"], properties: { three_pid_creds: BIND_SCHEMA } },
    handler: async (req) => {
      try {
        await threepids.bind(nonGuestRequesterOf(req), req.body.three_pid_creds);
      } catch (err) {
        // administrative_contact.yaml: "403 The credentials could not be verified with the identity server".
        if (err instanceof MatrixError && err.status >= 400 && err.status < 500 && err.errcode !== "M_GUEST_ACCESS_FORBIDDEN") {
          throw new MatrixError("M_THREEPID_AUTH_FAILED", `The third-party credentials could not be verified by the identity server: ${err.message}`, 403);
        }
        throw err;
      }
      return {};
    },
  };

  return [...endpoints, submit as Endpoint, submitLink, add as Endpoint, remove as Endpoint, unbind as Endpoint, bind as Endpoint, legacyAdd as Endpoint];
}
