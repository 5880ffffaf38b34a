// modules/account_data.md and modules/tags.md: account-data.yaml, tags.yaml.
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { AccountDataService } from "../../account-data/account-data-service.ts";
import { nonGuestRequesterOf } from "./requester.ts";

export function accountDataEndpoints(accountData: AccountDataService): Endpoint[] {
  const endpoints: Endpoint<JsonObject>[] = [];
  for (const scope of ["global", "room"] as const) {
    const path = scope === "global" ? "/user/:userId/account_data/:type" : "/user/:userId/rooms/:roomId/account_data/:type";
    endpoints.push(
      {
        name: `client.${scope}_account_data`,
        method: "GET",
        paths: clientPaths(path),
        resource: "client",
        auth: "accessToken",
        handler: async (req) =>
          accountData.get(nonGuestRequesterOf(req), req.params["userId"] ?? "", req.params["roomId"], req.params["type"] ?? ""),
      },
      {
        name: `client.set_${scope}_account_data`,
        method: "PUT",
        paths: clientPaths(path),
        resource: "client",
        auth: "accessToken",
        schema: { type: "object" },
        handler: async (req) => {
          await accountData.put(nonGuestRequesterOf(req), req.params["userId"] ?? "", req.params["roomId"], req.params["type"] ?? "", req.body);
          return {};
        },
      },
    );
  }

  const tags: Endpoint = {
    name: "client.room_tags",
    method: "GET",
    paths: clientPaths("/user/:userId/rooms/:roomId/tags"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => accountData.getTags(nonGuestRequesterOf(req), req.params["userId"] ?? "", req.params["roomId"] ?? ""),
  };

  const putTag: Endpoint<JsonObject> = {
    name: "client.set_room_tag",
    method: "PUT",
    paths: clientPaths("/user/:userId/rooms/:roomId/tags/:tag"),
    resource: "client",
    auth: "accessToken",
    // definitions/tag.yaml
    schema: { type: "object", properties: { order: { type: "number" } } },
    handler: async (req) => {
      const p = req.params;
      await accountData.putTag(nonGuestRequesterOf(req), p["userId"] ?? "", p["roomId"] ?? "", p["tag"] ?? "", req.body);
      return {};
    },
  };

  const deleteTag: Endpoint = {
    name: "client.delete_room_tag",
    method: "DELETE",
    paths: clientPaths("/user/:userId/rooms/:roomId/tags/:tag"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const p = req.params;
      await accountData.deleteTag(nonGuestRequesterOf(req), p["userId"] ?? "", p["roomId"] ?? "", p["tag"] ?? "");
      return {};
    },
  };

  return [...endpoints, tags, putTag, deleteTag];
}
