// client-server-api#account-registration: registration.yaml and registration_tokens.yaml.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { RegisterRequest, RegistrationService } from "../../users/registration.ts";
import { queryParam } from "./requester.ts";

export function registrationEndpoints(registration: RegistrationService, serverName: string): Endpoint[] {
  const register: Endpoint<RegisterRequest & JsonObject> = {
    name: "client.register",
    method: "POST",
    paths: clientPaths("/register"),
    resource: "client",
    // An application service registers its users with its as_token (application-service-api
    // #server-admin-style-permissions); read here so that its rate_limited setting applies.
    auth: "optionalAccessToken",
    rateLimit: "rc_registration",
    schema: {
      type: "object",
      properties: {
        auth: { type: "object" },
        username: { type: "string" },
        password: { type: "string", maxLength: 512 },
        device_id: { type: "string" },
        initial_device_display_name: { type: "string" },
        inhibit_login: { type: "boolean" },
        refresh_token: { type: "boolean" },
        guest_access_token: { type: "string" },
        type: { type: "string" },
      },
    },
    handler: async (req) => {
      const registered = await registration.register(queryParam(req, "kind"), req.body, req.requester);
      const answer: JsonObject = { user_id: registered.userId, home_server: serverName };
      if (registered.accessToken !== undefined && registered.deviceId !== undefined) {
        answer["access_token"] = registered.accessToken;
        answer["device_id"] = registered.deviceId;
      }
      if (registered.refreshToken !== undefined) answer["refresh_token"] = registered.refreshToken;
      if (registered.expiresInMs !== undefined) answer["expires_in_ms"] = registered.expiresInMs;
      return answer;
    },
  };

  const available: Endpoint = {
    name: "client.register_available",
    method: "GET",
    paths: clientPaths("/register/available"),
    resource: "client",
    auth: "none",
    rateLimit: "rc_registration",
    handler: async (req) => {
      const username = queryParam(req, "username");
      if (username === undefined || username === "") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: username", 400);
      await registration.checkAvailable(username);
      return { available: true };
    },
  };

  const tokenValidity: Endpoint = {
    name: "client.registration_token_validity",
    method: "GET",
    paths: clientPaths("/register/m.login.registration_token/validity", { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "none",
    // registration_tokens.yaml: "Servers should be sure to rate limit this endpoint".
    rateLimit: "rc_registration",
    handler: async (req) => {
      const token = queryParam(req, "token");
      if (token === undefined || token === "") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: token", 400);
      return { valid: await registration.isTokenValid(token) };
    },
  };

  return [register, available, tokenValidity];
}
