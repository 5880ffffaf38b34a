// POST /_matrix/client/v3/user_directory/search (users.yaml).
import { MatrixError } from "../../../core/errors.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import { USER_DIRECTORY_LIMITS, type UserDirectoryService } from "../../rooms/user-directory.ts";
import { requesterOf } from "./requester.ts";

export function userDirectoryEndpoints(directory: UserDirectoryService): Endpoint[] {
  const search: Endpoint<{ search_term: string; limit?: number }> = {
    name: "client.user_directory_search",
    method: "POST",
    paths: clientPaths("/user_directory/search"),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["search_term"], properties: { search_term: { type: "string" }, limit: { type: "integer" } } },
    handler: async (req) => {
      const limit = req.body.limit ?? USER_DIRECTORY_LIMITS.defaultLimit;
      if (limit <= 0) throw new MatrixError("M_INVALID_PARAM", "limit must be an integer greater than zero", 400);
      return await directory.search(requesterOf(req).userId, req.body.search_term, Math.min(limit, USER_DIRECTORY_LIMITS.maxLimit));
    },
  };
  return [search as Endpoint];
}
