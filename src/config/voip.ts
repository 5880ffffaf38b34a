// The TURN server keys (Synapse's names and meanings): what GET /voip/turnServer hands out
// (client-server voip.yaml, modules/voip_events.md "Server behaviour").
import { readFileSync } from "node:fs";
import { ConfigError } from "./config-error.ts";
import { DEFAULT_TURN_USER_LIFETIME_MS } from "./defaults.ts";
import { describe, type Section } from "./section.ts";
import type { TurnConfig } from "./types.ts";
import { parseDuration } from "./values.ts";

// voip.yaml: each of `uris` matches "^turns?:".
const TURN_URI = /^turns?:/;

export function readTurnConfig(root: Section): TurnConfig {
  const uris = (root.stringList("turn_uris") ?? []).filter((uri, i) => {
    if (TURN_URI.test(uri)) return true;
    root.ctx.warnings.push(`config key turn_uris[${i}]: ${JSON.stringify(uri)} is not a turn: or turns: URI (client-server voip.yaml): left out`);
    return false;
  });
  const sharedSecret = readTurnSharedSecret(root);
  const username = root.string("turn_username");
  const password = root.string("turn_password");
  const userLifetimeMs = readLifetime(root);
  const allowGuests = root.boolean("turn_allow_guests", true);
  if (uris.length > 0 && sharedSecret === undefined && (username === undefined || password === undefined)) {
    root.ctx.warnings.push(
      "config key turn_uris: there is neither turn_shared_secret nor both turn_username and turn_password, so no TURN server is offered to clients",
    );
  }
  return { uris, sharedSecret, username, password, userLifetimeMs, allowGuests };
}

function readLifetime(root: Section): number {
  const value = root.value("turn_user_lifetime");
  if (value === undefined) return DEFAULT_TURN_USER_LIFETIME_MS;
  const ms = parseDuration(value);
  // voip.yaml `ttl` is whole seconds: a lifetime under one would hand out credentials already expired.
  if (ms === undefined || ms < 1000) {
    root.fail("turn_user_lifetime", `must be a duration of at least 1s, e.g. "1h", "30m", "86400s" or milliseconds, got ${describe(value)}`);
  }
  return ms;
}

/** `turn_shared_secret`, or the contents of `turn_shared_secret_path` (Synapse has both, exclusive). */
function readTurnSharedSecret(root: Section): string | undefined {
  const secret = root.string("turn_shared_secret");
  const file = root.filePath("turn_shared_secret_path");
  if (file === undefined) return secret;
  if (secret !== undefined) root.fail("turn_shared_secret_path", "give turn_shared_secret or turn_shared_secret_path, not both");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("turn_shared_secret_path", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const trimmed = text.trim();
  if (trimmed === "") root.fail("turn_shared_secret_path", `${file} is empty`);
  return trimmed;
}
