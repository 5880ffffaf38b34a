// OpenID tokens (client-server-api#openid): a user asks for a token to hand to a third party
// (POST /user/{userId}/openid/request_token); the third party exchanges it with this server for
// the user's ID (GET /_matrix/federation/v1/openid/userinfo). The token is good for nothing else.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import { randomBytes } from "node:crypto";
import type { OpenidTokenStore } from "../../storage/stores/openid-tokens.ts";
import { tokenHash } from "../devices/tokens.ts";

/** How long a token lasts (Synapse's: an hour). */
export const OPENID_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

export class OpenidTokens {
  readonly #store: OpenidTokenStore;
  readonly #serverName: string;
  readonly #now: () => number;

  constructor(store: OpenidTokenStore, serverName: string, now: () => number = Date.now) {
    this.#store = store;
    this.#serverName = serverName;
    this.#now = now;
  }

  /** openid_token.yaml: the token, its type, our server name and its lifetime in seconds. */
  async requestToken(requesterId: string, userId: string): Promise<JsonObject> {
    // openid.yaml: "Should be the user who is authenticated for the request."
    if (userId !== requesterId) throw new MatrixError("M_FORBIDDEN", "Cannot request OpenID tokens for other users", 403);
    // Its own prefix, so that it is told apart from access tokens in a scan; stored by hash.
    const token = `wfo_${randomBytes(32).toString("base64url")}`;
    const now = this.#now();
    await this.#store.create(tokenHash(token), userId, now + OPENID_TOKEN_LIFETIME_MS, now);
    return { access_token: token, token_type: "Bearer", matrix_server_name: this.#serverName, expires_in: OPENID_TOKEN_LIFETIME_MS / 1000 };
  }

  /** server-server openid.yaml: `{sub}` for a token of ours; 401 M_UNKNOWN_TOKEN when unknown or expired. */
  async userInfo(token: string): Promise<JsonObject> {
    const userId = await this.#store.userOf(tokenHash(token), this.#now());
    if (userId === undefined) throw new MatrixError("M_UNKNOWN_TOKEN", "Access token unknown or expired", 401);
    return { sub: userId };
  }
}
