// client-server-api#legacy-login: login.yaml, login_token.yaml, refresh.yaml, logout.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { accessTokenOf, clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { DeviceService } from "../../devices/device-service.ts";
import type { LoginRequest, LoginService } from "../../users/login-service.ts";
import { requesterOf } from "./requester.ts";

export function loginEndpoints(login: LoginService, devices: DeviceService, serverName: string): Endpoint[] {
  const flows: Endpoint = {
    name: "client.login_flows",
    method: "GET",
    paths: clientPaths("/login"),
    resource: "client",
    auth: "none",
    handler: async () => ({ flows: login.flows() }),
  };

  const loginEndpoint: Endpoint<LoginRequest & JsonObject> = {
    name: "client.login",
    method: "POST",
    paths: clientPaths("/login"),
    resource: "client",
    auth: "none",
    // rc_login.address; rc_login.account and rc_login.failed_attempts are counted by the login service.
    rateLimit: "rc_login_address",
    schema: {
      type: "object",
      required: ["type"],
      properties: {
        type: { type: "string" },
        identifier: { type: "object" },
        device_id: { type: "string" },
        initial_device_display_name: { type: "string" },
        refresh_token: { type: "boolean" },
      },
    },
    handler: async (req) => {
      const result = await login.login(req.body, accessTokenOf(req.headers, req.query));
      const answer: JsonObject = {
        user_id: result.userId,
        access_token: result.accessToken,
        device_id: result.deviceId,
        home_server: serverName,
      };
      if (result.refreshToken !== undefined) answer["refresh_token"] = result.refreshToken;
      if (result.expiresInMs !== undefined) answer["expires_in_ms"] = result.expiresInMs;
      return answer;
    },
  };

  const getToken: Endpoint<JsonObject> = {
    name: "client.login_get_token",
    method: "POST",
    paths: clientPaths("/login/get_token", { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { auth: { type: "object" } } },
    handler: async (req) => {
      const { loginToken, expiresInMs } = await login.createLoginToken(requesterOf(req), req.body);
      return { login_token: loginToken, expires_in_ms: expiresInMs };
    },
  };

  const refresh: Endpoint<{ refresh_token: string }> = {
    name: "client.refresh",
    method: "POST",
    paths: clientPaths("/refresh", { r0: false }),
    resource: "client",
    auth: "none",
    schema: { type: "object", required: ["refresh_token"], properties: { refresh_token: { type: "string" } } },
    handler: async (req) => {
      const tokens = await devices.refresh(req.body.refresh_token);
      return { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, expires_in_ms: tokens.expiresInMs };
    },
  };

  const logout: Endpoint = {
    name: "client.logout",
    method: "POST",
    paths: clientPaths("/logout"),
    resource: "client",
    auth: "accessToken",
    whileLocked: true,
    handler: async (req) => {
      await devices.logout(requesterOf(req));
      return {};
    },
  };

  const logoutAll: Endpoint = {
    name: "client.logout_all",
    method: "POST",
    paths: clientPaths("/logout/all"),
    resource: "client",
    auth: "accessToken",
    whileLocked: true,
    handler: async (req) => {
      await devices.logoutAll(requesterOf(req).userId);
      return {};
    },
  };

  return [flows, loginEndpoint, getToken, refresh, logout, logoutAll];
}
