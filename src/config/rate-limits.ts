// The `rc_*` keys, in Synapse's shapes and with its defaults. A sub-key left out keeps its default,
// as in Synapse, so `rc_message: {burst_count: 20}` only changes the burst.
import { DEFAULT_FEDERATION_RATE_LIMIT, DEFAULT_RATE_LIMITS } from "./defaults.ts";
import type { Section } from "./section.ts";
import type { FederationRateLimit, RateLimit, RateLimitsConfig } from "./types.ts";

export function readRateLimits(root: Section): RateLimitsConfig {
  const login = root.section("rc_login");
  const joins = root.section("rc_joins");
  const limits: RateLimitsConfig = {
    message: readRateLimit(root.section("rc_message"), DEFAULT_RATE_LIMITS.message),
    registration: readRateLimit(root.section("rc_registration"), DEFAULT_RATE_LIMITS.registration),
    login: {
      address: readRateLimit(login?.section("address"), DEFAULT_RATE_LIMITS.loginAddress),
      account: readRateLimit(login?.section("account"), DEFAULT_RATE_LIMITS.loginAccount),
      failedAttempts: readRateLimit(login?.section("failed_attempts"), DEFAULT_RATE_LIMITS.loginFailedAttempts),
    },
    joins: {
      local: readRateLimit(joins?.section("local"), DEFAULT_RATE_LIMITS.joinsLocal),
      remote: readRateLimit(joins?.section("remote"), DEFAULT_RATE_LIMITS.joinsRemote),
    },
    mediaCreate: readRateLimit(root.section("rc_media_create"), DEFAULT_RATE_LIMITS.mediaCreate),
    threepidValidation: readRateLimit(root.section("rc_3pid_validation"), DEFAULT_RATE_LIMITS.threepidValidation),
    federation: readFederationRateLimit(root.section("rc_federation")),
  };
  login?.finish();
  joins?.finish();
  return limits;
}

function readRateLimit(s: Section | undefined, fallback: RateLimit): RateLimit {
  if (s === undefined) return fallback;
  const limit = {
    perSecond: s.nonNegativeNumber("per_second", fallback.perSecond),
    // Synapse truncates a fractional burst to an integer; so do we.
    burstCount: Math.trunc(s.nonNegativeNumber("burst_count", fallback.burstCount)),
  };
  s.finish();
  return limit;
}

function readFederationRateLimit(s: Section | undefined): FederationRateLimit {
  if (s === undefined) return DEFAULT_FEDERATION_RATE_LIMIT;
  const d = DEFAULT_FEDERATION_RATE_LIMIT;
  const limit: FederationRateLimit = {
    windowSize: s.integer("window_size", d.windowSize, 1),
    sleepLimit: s.integer("sleep_limit", d.sleepLimit, 0),
    sleepDelay: s.integer("sleep_delay", d.sleepDelay, 0),
    rejectLimit: s.integer("reject_limit", d.rejectLimit, 0),
    concurrent: s.integer("concurrent", d.concurrent, 1),
  };
  s.finish();
  return limit;
}
