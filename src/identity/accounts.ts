// identity-service-api#authentication (v2_auth.yaml): an OpenID token of the user's homeserver,
// checked with that homeserver, is exchanged for an access token of the identity service.
import { randomBytes } from "node:crypto";
import { MatrixError } from "../core/errors.ts";
import { parseServerName } from "../core/identifiers/index.ts";
import { serverNameOf } from "../core/identifiers/server-name-of.ts";
import { FederationRequestError, type FederationClient } from "../homeserver/federation/client.ts";
import { type AnyIdentityEndpoint, type IdentityEndpoint, invalidParam, tokenHash } from "./http.ts";
import type { IdentityStore } from "./store.ts";

interface OpenIdToken {
  readonly access_token: string;
  readonly token_type: string;
  readonly matrix_server_name: string;
  readonly expires_in: number;
}

// client-server definitions/openid_token.yaml, the body of /account/register.
const OPENID_TOKEN_SCHEMA = {
  type: "object",
  properties: {
    access_token: { type: "string" },
    token_type: { type: "string" },
    matrix_server_name: { type: "string" },
    expires_in: { type: "integer" },
  },
  required: ["access_token", "token_type", "matrix_server_name", "expires_in"],
};

export interface AccountDeps {
  readonly store: IdentityStore;
  readonly client: Pick<FederationClient, "get">;
  readonly now: () => number;
}

/** Asks the homeserver whose user the OpenID token is (server-server openid.yaml), checking it is one of its own. */
async function userOfOpenIdToken(deps: AccountDeps, token: OpenIdToken): Promise<string> {
  if (token.token_type !== "Bearer") throw invalidParam("token_type must be Bearer");
  const serverName = parseServerName(token.matrix_server_name);
  if (serverName === undefined) throw invalidParam("matrix_server_name is not a server name");
  let info;
  try {
    info = await deps.client.get(serverName, "/_matrix/federation/v1/openid/userinfo", { query: { access_token: token.access_token }, timeoutMs: 15_000 });
  } catch (err) {
    if (err instanceof FederationRequestError && err.reason === "http" && err.status !== undefined && err.status < 500) {
      throw new MatrixError("M_UNAUTHORIZED", `The homeserver ${serverName} did not accept the OpenID token`, 401);
    }
    // The homeserver could not say: a gateway's failure, not the caller's and not ours.
    throw new MatrixError("M_UNKNOWN", `The homeserver ${serverName} could not be asked about the OpenID token: ${(err as Error).message}`, 502);
  }
  const sub = info["sub"];
  // A homeserver speaks for its own users only: a token answered with another server's user is refused.
  if (typeof sub !== "string" || serverNameOf(sub) !== serverName || !sub.startsWith("@")) {
    throw new MatrixError("M_UNAUTHORIZED", `The homeserver ${serverName} answered a user that is not its own`, 401);
  }
  return sub;
}

export function accountEndpoints(deps: AccountDeps): AnyIdentityEndpoint[] {
  const register: IdentityEndpoint<OpenIdToken> = {
    name: "account.register",
    method: "POST",
    path: "/account/register",
    auth: "none",
    schema: OPENID_TOKEN_SCHEMA,
    handler: async (request) => {
      const userId = await userOfOpenIdToken(deps, request.body);
      const token = randomBytes(32).toString("base64url");
      await deps.store.addAccessToken(tokenHash(token), userId, deps.now());
      return { token };
    },
  };
  const account: IdentityEndpoint<undefined> = {
    name: "account",
    method: "GET",
    path: "/account",
    auth: "required",
    handler: async (request) => ({ user_id: request.userId as string }),
  };
  const logout: IdentityEndpoint<unknown> = {
    name: "account.logout",
    method: "POST",
    path: "/account/logout",
    // A user can always give a token up, terms accepted or not.
    auth: "required",
    terms: false,
    handler: async (request) => {
      await deps.store.deleteAccessToken(tokenHash(request.accessToken as string));
      return {};
    },
  };
  return [register, account, logout];
}
