// GET /_matrix/federation/v1/query/profile and /query/directory (query.yaml).
import type { Endpoint } from "../../../http/endpoint.ts";
import type { FederationQueries } from "../../federation/queries.ts";
import { originOf, requiredQuery } from "./origin.ts";

export function queryEndpoints(queries: FederationQueries): Endpoint[] {
  const query = (name: string, handler: Endpoint["handler"]): Endpoint => ({
    name: `federation.query_${name}`,
    method: "GET",
    paths: [`/_matrix/federation/v1/query/${name}`],
    resource: "federation",
    auth: "federation",
    handler,
  });
  return [
    query("profile", async (req) => {
      originOf(req);
      const field = req.query["field"];
      return queries.profile(requiredQuery(req, "user_id"), typeof field === "string" ? field : undefined);
    }),
    query("directory", async (req) => {
      originOf(req);
      return queries.directory(requiredQuery(req, "room_alias"));
    }),
  ];
}
