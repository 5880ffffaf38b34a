// TURN credentials for GET /voip/turnServer (client-server voip.yaml; modules/voip_events.md
// "Server behaviour": the homeserver MAY provide a TURN server). Pure: the config, the user and the
// time in, the answer out.
import { createHmac } from "node:crypto";
import type { TurnConfig } from "../../config/index.ts";
import type { JsonObject } from "../../core/json.ts";

/**
 * The answer for `userId` at `now` (milliseconds). With a shared secret: time-limited credentials
 * as the TURN REST API convention has them (and Synapse and coturn's `use-auth-secret` follow),
 * username `<expiry in seconds>:<user ID>`, password the standard (padded) base64 of the username's
 * HMAC-SHA1 under the secret. Otherwise the fixed username and password. With no URIs or no
 * credentials, `{}`: no TURN server is offered (Synapse's answer; clients then call without one).
 */
export function turnCredentials(config: TurnConfig, userId: string, now: number): JsonObject {
  if (config.uris.length === 0) return {};
  let username: string;
  let password: string;
  if (config.sharedSecret !== undefined) {
    username = `${Math.floor((now + config.userLifetimeMs) / 1000)}:${userId}`;
    password = createHmac("sha1", config.sharedSecret).update(username).digest("base64");
  } else if (config.username !== undefined && config.password !== undefined) {
    username = config.username;
    password = config.password;
  } else {
    return {};
  }
  // voip.yaml: username, password, uris and ttl (an integer of seconds) are all required.
  return { username, password, uris: [...config.uris], ttl: Math.floor(config.userLifetimeMs / 1000) };
}
