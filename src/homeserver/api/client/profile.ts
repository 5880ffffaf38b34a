// client-server-api#profiles: profile.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { ProfileService } from "../../profile/profile-service.ts";
import { requesterOf } from "./requester.ts";

export function profileEndpoints(profiles: ProfileService): Endpoint[] {
  const getProfile: Endpoint = {
    name: "client.profile",
    method: "GET",
    paths: clientPaths("/profile/:userId"),
    resource: "client",
    auth: "none",
    handler: async (req) => profiles.getProfile(req.params["userId"] ?? ""),
  };

  const getField: Endpoint = {
    name: "client.profile_field",
    method: "GET",
    paths: clientPaths("/profile/:userId/:keyName"),
    resource: "client",
    auth: "none",
    handler: async (req) => profiles.getField(req.params["userId"] ?? "", req.params["keyName"] ?? ""),
  };

  const setField: Endpoint<JsonObject> = {
    name: "client.set_profile_field",
    method: "PUT",
    paths: clientPaths("/profile/:userId/:keyName"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object" },
    // client-server-api#account-suspension: "changing profile data" is not for suspended accounts.
    refusedWhileSuspended: true,
    handler: async (req) => {
      await profiles.setField(requesterOf(req), req.params["userId"] ?? "", req.params["keyName"] ?? "", req.body);
      return {};
    },
  };

  const deleteField: Endpoint = {
    name: "client.delete_profile_field",
    method: "DELETE",
    paths: clientPaths("/profile/:userId/:keyName"),
    resource: "client",
    auth: "accessToken",
    refusedWhileSuspended: true,
    handler: async (req) => {
      await profiles.deleteField(requesterOf(req), req.params["userId"] ?? "", req.params["keyName"] ?? "");
      return {};
    },
  };

  return [getProfile, getField, setField, deleteField];
}
