// Default values. Where Synapse has the same option we take its default, so a key left out means
// what an admin coming from Synapse expects.
import type { FederationRateLimit, RateLimit } from "./types.ts";

/** Synapse's: both families, since some systems bind '::' to IPv6 only. */
export const DEFAULT_BIND_ADDRESSES: readonly string[] = ["::", "0.0.0.0"];

/** Addresses outbound requests must not reach: private, loopback, link-local, CGNAT, testing, multicast, reserved. */
export const DEFAULT_IP_RANGE_BLOCKLIST: readonly string[] = [
  "127.0.0.0/8", // loopback
  "10.0.0.0/8", // RFC 1918 private
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10", // carrier-grade NAT
  "192.0.0.0/24", // IETF protocol assignments
  "169.254.0.0/16", // link-local
  "192.88.99.0/24", // former 6to4 relay anycast
  "198.18.0.0/15", // benchmarking
  "192.0.2.0/24", // documentation (TEST-NET-1..3)
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4", // multicast
  "::1/128", // loopback
  "fe80::/10", // link-local
  "fc00::/7", // unique local
  "2001:db8::/32", // documentation
  "ff00::/8", // multicast
  "fec0::/10", // deprecated site-local
];

/** Always blocked whatever the config says: the unspecified addresses (Synapse does the same). */
export const ALWAYS_BLOCKED_IP_RANGES: readonly string[] = ["0.0.0.0/32", "::/128"];

/** Synapse's defaults for each rate limiter we implement. */
export const DEFAULT_RATE_LIMITS = {
  message: { perSecond: 0.2, burstCount: 10 },
  registration: { perSecond: 0.17, burstCount: 3 },
  loginAddress: { perSecond: 0.003, burstCount: 5 },
  loginAccount: { perSecond: 0.003, burstCount: 5 },
  loginFailedAttempts: { perSecond: 0.17, burstCount: 3 },
  joinsLocal: { perSecond: 0.1, burstCount: 10 },
  joinsRemote: { perSecond: 0.01, burstCount: 10 },
  mediaCreate: { perSecond: 10, burstCount: 50 },
  threepidValidation: { perSecond: 0.003, burstCount: 5 },
} as const satisfies Record<string, RateLimit>;

export const DEFAULT_FEDERATION_RATE_LIMIT: FederationRateLimit = {
  windowSize: 1000,
  sleepLimit: 10,
  sleepDelay: 500,
  rejectLimit: 50,
  concurrent: 3,
};

/** Synapse's default `max_upload_size`: 50M. */
export const DEFAULT_MAX_UPLOAD_SIZE = 50 * 1024 * 1024;

/**
 * Weft's `max_request_size`: 8M for JSON bodies. A federation transaction alone may carry 50 PDUs
 * of up to 64 KiB each (over 3 MiB) plus EDUs, so 1M would refuse honest traffic.
 */
export const DEFAULT_MAX_REQUEST_SIZE = 8 * 1024 * 1024;

/** Folder, relative to the config file (or cwd), for the database, media and signing key by default. */
export const DEFAULT_DATA_DIR = "data";

/** Synapse's default `turn_user_lifetime`: TURN credentials are good for an hour. */
export const DEFAULT_TURN_USER_LIFETIME_MS = 60 * 60 * 1000;
