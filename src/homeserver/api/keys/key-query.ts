// The notary endpoints (server-server-api#querying-keys-through-another-server, keys_query.yaml).
import { MatrixError } from "../../../core/errors.ts";
import { isJsonObject } from "../../../core/json.ts";
import type { Endpoint, JsonSchema } from "../../../http/endpoint.ts";
import type { KeyNotary } from "../../federation/notary.ts";

interface QueryBody {
  server_keys: Record<string, Record<string, { minimum_valid_until_ts?: number }>>;
}

// The request body of POST /_matrix/key/v2/query, as keys_query.yaml gives it.
const QUERY_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    server_keys: {
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: {
          type: "object",
          properties: { minimum_valid_until_ts: { type: "integer" } },
        },
      },
    },
  },
  required: ["server_keys"],
};

function minimumValidUntilOf(query: Record<string, string | string[] | undefined>): number | undefined {
  const value = query["minimum_valid_until_ts"];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^-?\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new MatrixError("M_INVALID_PARAM", "minimum_valid_until_ts must be an integer", 400);
  }
  return Number(value);
}

export function keyQueryEndpoints(notary: KeyNotary): Endpoint[] {
  const getOne: Endpoint = {
    name: "keys.query_server",
    method: "GET",
    // The `/{keyId}` form left the spec but older servers still call it; the key ID changes nothing,
    // since a notary "may return multiple keys regardless of the Key IDs given".
    paths: ["/_matrix/key/v2/query/:serverName", "/_matrix/key/v2/query/:serverName/:keyId"],
    resource: "keys",
    auth: "none",
    handler: async (req) => {
      const serverName = req.params["serverName"] ?? "";
      const serverKeys = await notary.query(new Map([[serverName, minimumValidUntilOf(req.query)]]));
      return { server_keys: serverKeys };
    },
  };

  const queryMany: Endpoint<QueryBody> = {
    name: "keys.query",
    method: "POST",
    paths: ["/_matrix/key/v2/query"],
    resource: "keys",
    auth: "none",
    schema: QUERY_SCHEMA,
    handler: async (req) => {
      const criteria = new Map<string, number | undefined>();
      for (const [serverName, keys] of Object.entries(req.body.server_keys)) {
        // The keys should be valid until the latest time any of the key IDs asks for.
        let minimum: number | undefined;
        for (const criterion of Object.values(keys)) {
          const asked = isJsonObject(criterion) ? criterion.minimum_valid_until_ts : undefined;
          if (asked !== undefined) minimum = Math.max(minimum ?? asked, asked);
        }
        criteria.set(serverName, minimum);
      }
      return { server_keys: await notary.query(criteria) };
    },
  };

  return [getOne, queryMany];
}
