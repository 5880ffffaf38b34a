// The config layer's public surface: homeserver.yaml in, a validated HomeserverConfig out.
export { ConfigError } from "./config-error.ts";
export { loadConfig, parseConfigText, EMBEDDED_DEFAULTS } from "./load.ts";
export type { LoadConfigOptions, LoadedConfig } from "./load.ts";
export { parseConfig, DEFAULT_LISTENER } from "./parse.ts";
export type { ParseOptions } from "./parse.ts";
export { generateConfig } from "./generate.ts";
export type { GenerateConfigOptions } from "./generate.ts";
export { loadOrCreateSigningKey } from "./signing-key.ts";
export { DEFAULT_IP_RANGE_BLOCKLIST, DEFAULT_BIND_ADDRESSES, DEFAULT_RATE_LIMITS, DEFAULT_MAX_UPLOAD_SIZE, DEFAULT_MAX_REQUEST_SIZE } from "./defaults.ts";
export { parseSize, parseDuration, normaliseIpRange } from "./values.ts";
export type {
  HomeserverConfig,
  ListenerConfig,
  ListenerResource,
  ListenerResourceName,
  DatabaseConfig,
  RateLimit,
  RateLimitsConfig,
  FederationRateLimit,
  TrustedKeyServer,
  LogLevel,
  TurnConfig,
  ServerSupportConfig,
  MediaRetentionConfig,
  SupportContact,
} from "./types.ts";
