// client-server-api#legacy-account-management and #current-account-information:
// whoami.yaml, password_management.yaml, account_deactivation.yaml, administrative_contact.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { AccountService, ChangePasswordRequest, DeactivateRequest } from "../../users/account-service.ts";
import { nonGuestRequesterOf, requesterOf } from "./requester.ts";

export function accountEndpoints(accounts: AccountService): Endpoint[] {
  const whoami: Endpoint = {
    name: "client.whoami",
    method: "GET",
    paths: clientPaths("/account/whoami"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => accounts.whoami(requesterOf(req)),
  };

  const password: Endpoint<ChangePasswordRequest & JsonObject> = {
    name: "client.change_password",
    method: "POST",
    paths: clientPaths("/account/password"),
    resource: "client",
    // password_management.yaml: the access token is optional; without one this is the password reset.
    auth: "optionalAccessToken",
    schema: {
      type: "object",
      required: ["new_password"],
      properties: {
        new_password: { type: "string", minLength: 1, maxLength: 512 },
        logout_devices: { type: "boolean" },
        auth: { type: "object" },
      },
    },
    handler: async (req) => {
      await accounts.changePassword(req.requester === undefined ? undefined : nonGuestRequesterOf(req), req.body);
      return {};
    },
  };

  const deactivate: Endpoint<DeactivateRequest & JsonObject> = {
    name: "client.deactivate",
    method: "POST",
    paths: clientPaths("/account/deactivate"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: { auth: { type: "object" }, id_server: { type: "string" }, erase: { type: "boolean" } },
    },
    handler: async (req) => {
      const result = await accounts.deactivate(nonGuestRequesterOf(req), req.body);
      return { id_server_unbind_result: result.idServerUnbindResult };
    },
  };

  const threepids: Endpoint = {
    name: "client.account_3pid",
    method: "GET",
    paths: clientPaths("/account/3pid"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ threepids: await accounts.threepids(nonGuestRequesterOf(req)) }),
  };

  return [whoami, password, deactivate, threepids];
}
