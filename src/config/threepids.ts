// The homeserver's third-party identifiers, Synapse's keys: the `email` section (how mail leaves,
// config/email.ts, plus the homeserver's own `validation_token_lifetime` and `client_base_url`),
// and the top-level `enable_3pid_changes`, `registrations_require_3pid` and `allowed_local_3pids`.
import { isHttpUrl } from "../core/identifiers/threepid.ts";
import { readEmail } from "./email.ts";
import { describe, type Section } from "./section.ts";
import type { AllowedLocal3pid, HomeserverEmailConfig } from "./types.ts";
import { parseDuration } from "./values.ts";

/** Synapse's default validation_token_lifetime: one hour. */
export const DEFAULT_VALIDATION_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/** `email`: undefined (no validation mail) without `smtp_host` and `notif_from`. */
export function readHomeserverEmail(root: Section): HomeserverEmailConfig | undefined {
  const s = root.section("email");
  if (s === undefined) return undefined;
  const mail = readEmail(s, "Matrix");
  const lifetime = s.value("validation_token_lifetime");
  const parsed = lifetime === undefined ? DEFAULT_VALIDATION_TOKEN_LIFETIME_MS : parseDuration(lifetime);
  const validationTokenLifetimeMs =
    parsed !== undefined && parsed > 0 ? parsed : s.fail("validation_token_lifetime", `must be a duration greater than 0, e.g. "1h", "30m" or milliseconds, got ${describe(lifetime)}`);
  const clientBaseUrl = s.string("client_base_url");
  if (clientBaseUrl !== undefined && !isHttpUrl(clientBaseUrl)) s.fail("client_base_url", `must be an http or https URL, got ${describe(clientBaseUrl)}`);
  s.finish();
  return mail === undefined ? undefined : { ...mail, validationTokenLifetimeMs, clientBaseUrl };
}

/** `registrations_require_3pid`: the media a new account must validate; only email can be validated here. */
export function readRegistrationsRequire3pid(root: Section, email: HomeserverEmailConfig | undefined): readonly "email"[] {
  const media = root.stringList("registrations_require_3pid") ?? [];
  return media.map((medium, i) => {
    // Weft sends no SMS, so a required phone number could never be validated.
    if (medium !== "email") root.fail(`registrations_require_3pid[${i}]`, `only email can be required (Weft validates no phone numbers), got ${describe(medium)}`);
    if (email === undefined) root.fail("registrations_require_3pid", "requires email addresses, which needs the email section with smtp_host and notif_from");
    return medium;
  });
}

/** `allowed_local_3pids`: `[{medium, pattern}]`; when set, only addresses some pattern of their medium matches. */
export function readAllowedLocal3pids(root: Section): readonly AllowedLocal3pid[] | undefined {
  const items = root.list("allowed_local_3pids");
  if (items === undefined) return undefined;
  return items.map((item, i) => {
    const key = `allowed_local_3pids[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) root.fail(key, `must be a mapping of medium and pattern, got ${describe(item)}`);
    const { medium, pattern } = item as Record<string, unknown>;
    if (medium !== "email" && medium !== "msisdn") root.fail(`${key}.medium`, `must be email or msisdn, got ${describe(medium)}`);
    if (typeof pattern !== "string" || pattern === "") root.fail(`${key}.pattern`, `must be a regular expression, got ${describe(pattern)}`);
    try {
      new RegExp(pattern, "u");
    } catch (err) {
      root.fail(`${key}.pattern`, `is not a valid regular expression: ${(err as Error).message}`);
    }
    return { medium, pattern };
  });
}
