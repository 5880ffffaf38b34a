// The normalised configuration the rest of Weft reads. Field names are camelCase; each field's
// comment names the homeserver.yaml key (Synapse's name) it comes from.
import type { ServerName } from "../core/identifiers/index.ts";
import type { JsonObject } from "../core/json.ts";
import type { EmailConfig } from "./email.ts";
import type { SsoConfig } from "./sso.ts";

/**
 * What a listener serves. `client`: /_matrix/client; `federation`: /_matrix/federation;
 * `media`: /_matrix/media; `keys`: /_matrix/key; `health`: /health; `openid`: the federation
 * OpenID userinfo endpoint alone (for a listener that must not expose the rest of federation).
 */
export type ListenerResourceName = "client" | "federation" | "media" | "keys" | "health" | "openid";

export interface ListenerResource {
  readonly names: readonly ListenerResourceName[];
  /** `compress`: gzip responses. */
  readonly compress: boolean;
}

/** One entry of `listeners`; only `type: http` exists in Weft. */
export interface ListenerConfig {
  readonly type: "http";
  readonly port: number;
  /** `bind_addresses` (plus the legacy `bind_address`); Synapse's default is `['::', '0.0.0.0']`. */
  readonly bindAddresses: readonly string[];
  /** `tls`: serve HTTPS with `tls_certificate_path` / `tls_private_key_path`. */
  readonly tls: boolean;
  /** `x_forwarded`: trust X-Forwarded-For / -Proto from a reverse proxy. */
  readonly xForwarded: boolean;
  readonly resources: readonly ListenerResource[];
}

/** `database`: `name: sqlite3` or `name: psycopg2`, normalised. */
export type DatabaseConfig =
  | { readonly engine: "sqlite"; readonly path: string }
  | { readonly engine: "postgres"; readonly connectionString: string; readonly poolSize?: number };

/** A token bucket as Synapse shapes it: refill `per_second`, hold at most `burst_count`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burstCount: number;
}

/** `rc_federation`: Synapse's per-origin limits on inbound federation requests. */
export interface FederationRateLimit {
  /** `window_size`, in milliseconds. */
  readonly windowSize: number;
  /** `sleep_limit`: requests per window before each further one is delayed. */
  readonly sleepLimit: number;
  /** `sleep_delay`, in milliseconds. */
  readonly sleepDelay: number;
  /** `reject_limit`: requests per window before further ones are refused. */
  readonly rejectLimit: number;
  /** `concurrent`: requests from one origin processed at once. */
  readonly concurrent: number;
}

export interface RateLimitsConfig {
  /** `rc_message` */
  readonly message: RateLimit;
  /** `rc_registration` */
  readonly registration: RateLimit;
  /** `rc_login.address`, `rc_login.account`, `rc_login.failed_attempts` */
  readonly login: { readonly address: RateLimit; readonly account: RateLimit; readonly failedAttempts: RateLimit };
  /** `rc_joins.local`, `rc_joins.remote` */
  readonly joins: { readonly local: RateLimit; readonly remote: RateLimit };
  /** `rc_media_create`: POST /_matrix/media/v1/create, per user */
  readonly mediaCreate: RateLimit;
  /** `rc_3pid_validation`: requests for validation mail, per address. */
  readonly threepidValidation: RateLimit;
  /** `rc_federation` */
  readonly federation: FederationRateLimit;
}

/** One entry of `trusted_key_servers` (a notary asked for other servers' signing keys). */
export interface TrustedKeyServer {
  readonly serverName: ServerName;
  /** `verify_keys`: key ID (`ed25519:abc`) to unpadded base64 public key. */
  readonly verifyKeys?: Readonly<Record<string, string>>;
  /** `accept_keys_insecurely`: trust its answers without checking its signature. */
  readonly acceptKeysInsecurely: boolean;
}

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** The TURN server clients are pointed at by GET /voip/turnServer (modules/voip_events.md), Synapse's keys. */
export interface TurnConfig {
  /** `turn_uris`: `turn:` / `turns:` URIs; empty: no TURN server is offered. */
  readonly uris: readonly string[];
  /** `turn_shared_secret` (or `turn_shared_secret_path`): time-limited credentials, the TURN REST API's. */
  readonly sharedSecret: string | undefined;
  /** `turn_username` / `turn_password`: fixed credentials, when there is no shared secret. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `turn_user_lifetime`, in milliseconds (Synapse's duration: `1h`, `30m`, or milliseconds); default 1h. */
  readonly userLifetimeMs: number;
  /** `turn_allow_guests`: whether guests get credentials too (default true). */
  readonly allowGuests: boolean;
}

/** `email` (Synapse's keys): how validation mail leaves, and the homeserver's own keys of the section. */
export interface HomeserverEmailConfig extends EmailConfig {
  /** `validation_token_lifetime`: how long a mailed token (and its session) can be used; Synapse's 1h by default. */
  readonly validationTokenLifetimeMs: number;
  /** `client_base_url`: where the page a validation link opens sends the user back to. */
  readonly clientBaseUrl: string | undefined;
}

/** One entry of `allowed_local_3pids`: addresses of `medium` matching `pattern` (from their start, as Python's re.match). */
export interface AllowedLocal3pid {
  readonly medium: "email" | "msisdn";
  readonly pattern: string;
}

/** `server_notices` (Synapse's keys): who sends server notices and how their rooms look (modules/server_notices.md). */
export interface ServerNoticesConfig {
  /** The sending user's localpart; the account is made when the first notice is sent. */
  readonly systemMxidLocalpart: string;
  readonly systemMxidDisplayName: string | undefined;
  readonly systemMxidAvatarUrl: string | undefined;
  /** The rooms' name (Synapse's default: "Server Notices"), avatar and topic. */
  readonly roomName: string;
  readonly roomAvatarUrl: string | undefined;
  readonly roomTopic: string | undefined;
  /** Join the user to their room rather than invite them (the spec's recommendation is the invite). */
  readonly autoJoin: boolean;
}

/** One way to reach the server's admins (client-server support.yaml `contacts`). */
export interface SupportContact {
  readonly matrixId?: string;
  readonly emailAddress?: string;
  /** `m.role.admin`, `m.role.security`, or a namespaced role of one's own. */
  readonly role: string;
}

/** What GET /.well-known/matrix/support serves (client-server support.yaml), from Weft's own keys. */
export interface ServerSupportConfig {
  /** `support_contacts` */
  readonly contacts: readonly SupportContact[];
  /** `support_page` */
  readonly page: string | undefined;
}

/** One `url_preview_url_blacklist` entry: URL part (`hostname`, `path`...) to a glob, or a regular expression starting with `^`. */
export type UrlPatternRule = Readonly<Record<string, string>>;

/** GET /media/preview_url, Synapse's keys (authed-content-repo.yaml). */
export interface UrlPreviewConfig {
  /** `url_preview_enabled` (default false: the endpoints are not served). */
  readonly enabled: boolean;
  /** `url_preview_ip_range_blacklist`, required when enabled; `0.0.0.0/32` and `::/128` always included. */
  readonly ipRangeBlocklist: readonly string[];
  /** `url_preview_ip_range_whitelist`: CIDRs exempt from that blocklist. */
  readonly ipRangeAllowlist: readonly string[];
  /** `url_preview_url_blacklist`: a URL matching every part of one entry is refused. */
  readonly urlBlocklist: readonly UrlPatternRule[];
  /** `max_spider_size`, in bytes (default 10M): the most read of one page or image. */
  readonly maxSpiderSize: number;
  /** `url_preview_accept_language` (default `[en]`): sent as Accept-Language. */
  readonly acceptLanguage: readonly string[];
}

/**
 * `media_retention` (Synapse's): media not accessed (downloaded or thumbnailed, by a local or a
 * remote user) for a lifetime are deleted, file and thumbnails; never-accessed media count from
 * when they were stored. Unset: that kind of media is kept forever (Synapse's default).
 */
export interface MediaRetentionConfig {
  /** `local_media_lifetime`, in milliseconds: this server's uploads. */
  readonly localMediaLifetimeMs: number | undefined;
  /** `remote_media_lifetime`, in milliseconds: the cache of other servers' media (fetched again when asked later). */
  readonly remoteMediaLifetimeMs: number | undefined;
}

export interface HomeserverConfig {
  /** The file this came from, absolute; undefined for the embedded defaults. */
  readonly configPath: string | undefined;
  /** `server_name` */
  readonly serverName: ServerName;
  /** `public_baseurl`, always ending in `/`; Synapse's default is `https://<server_name>/`. */
  readonly publicBaseurl: string;
  /** Serve /.well-known/matrix/client: true when `public_baseurl` is set explicitly (as Synapse). */
  readonly serveClientWellKnown: boolean;
  /** `extra_well_known_client_content`: merged into /.well-known/matrix/client. */
  readonly extraWellKnownClientContent: JsonObject;
  /** `serve_server_wellknown`: serve /.well-known/matrix/server pointing at port 443. */
  readonly serveServerWellKnown: boolean;
  readonly listeners: readonly ListenerConfig[];
  readonly database: DatabaseConfig;
  /** `media_store_path` */
  readonly mediaStorePath: string;
  /** `max_upload_size`, in bytes. */
  readonly maxUploadSize: number;
  /**
   * `enable_authenticated_media` (Synapse's, default true): media uploaded while it is on are served
   * by the authenticated endpoints only (client-server-api#content-repo-client-behaviour, the freeze).
   */
  readonly enableAuthenticatedMedia: boolean;
  /** `media_retention.local_media_lifetime`, `media_retention.remote_media_lifetime` */
  readonly mediaRetention: MediaRetentionConfig;
  /** `max_request_size` (Weft's own): the largest non-media request body, in bytes. */
  readonly maxRequestSize: number;
  /** `signing_key_path` */
  readonly signingKeyPath: string;
  /** `enable_registration` */
  readonly enableRegistration: boolean;
  /** `enable_registration_without_verification` */
  readonly enableRegistrationWithoutVerification: boolean;
  /** `registration_shared_secret` (or the contents of `registration_shared_secret_path`). */
  readonly registrationSharedSecret: string | undefined;
  /** `registration_requires_token` */
  readonly registrationRequiresToken: boolean;
  /** `allow_guest_access` */
  readonly allowGuestAccess: boolean;
  /** `tls_certificate_path` */
  readonly tlsCertificatePath: string | undefined;
  /** `tls_private_key_path` */
  readonly tlsPrivateKeyPath: string | undefined;
  /** `federation_verify_certificates` */
  readonly federationVerifyCertificates: boolean;
  /** `federation_custom_ca_list`: extra CA files trusted for outbound federation. */
  readonly federationCustomCaList: readonly string[];
  /** `allow_device_name_lookup_over_federation`: whether other servers see our users' device names (default false). */
  readonly allowDeviceNameLookupOverFederation: boolean;
  /** `allow_public_rooms_over_federation`: other servers may list our published room directory (Synapse's default: no). */
  readonly allowPublicRoomsOverFederation: boolean;
  /**
   * `ip_range_blacklist`: CIDRs (`addr/prefix`) outbound requests must never reach; `0.0.0.0/32`
   * and `::/128` are always included, as Synapse does. Callers should also match IPv4-mapped IPv6
   * addresses (`::ffff:a.b.c.d`) against the IPv4 ranges.
   */
  readonly ipRangeBlocklist: readonly string[];
  /** `ip_range_whitelist`: CIDRs exempt from the blocklist. */
  readonly ipRangeAllowlist: readonly string[];
  /** `trusted_key_servers`; Weft's default is empty: ask each server for its own keys. */
  readonly trustedKeyServers: readonly TrustedKeyServer[];
  /** `suppress_key_server_warning` */
  readonly suppressKeyServerWarning: boolean;
  /** `rc_message`, `rc_registration`, `rc_login`, `rc_joins`, `rc_federation` */
  readonly rateLimits: RateLimitsConfig;
  /** `default_room_version`: a known, stable room version. */
  readonly defaultRoomVersion: string;
  /** `app_service_config_files`: registration files of application services. */
  readonly appServiceConfigFiles: readonly string[];
  /** `report_stats`: Weft reports nothing; kept so Synapse files keep their meaning. */
  readonly reportStats: boolean;
  /** `presence.enabled` */
  readonly presence: { readonly enabled: boolean };
  /** `log_level` (Weft's own, pino levels); Synapse's `log_config` is not read. */
  readonly logLevel: LogLevel;
  /** `turn_uris`, `turn_shared_secret`, `turn_username`, `turn_password`, `turn_user_lifetime`, `turn_allow_guests` */
  readonly turn: TurnConfig;
  /** `server_notices`; undefined when `system_mxid_localpart` is not set (no server notices, as Synapse). */
  readonly serverNotices: ServerNoticesConfig | undefined;
  /** `support_contacts`, `support_page` (Weft's own keys); undefined when neither is set. */
  readonly serverSupport: ServerSupportConfig | undefined;
  /** `url_preview_enabled`, `url_preview_ip_range_blacklist`, `url_preview_ip_range_whitelist`, `url_preview_url_blacklist`, `max_spider_size`, `url_preview_accept_language` */
  readonly urlPreview: UrlPreviewConfig;
  /** Single sign-on: `oidc_providers` and `sso` (sso.ts). */
  readonly sso: SsoConfig;
  /** `email`; undefined without `smtp_host` and `notif_from` (no email validation). */
  readonly email: HomeserverEmailConfig | undefined;
  /** `enable_3pid_changes`: whether users may add and remove their 3PIDs (default true). */
  readonly enable3pidChanges: boolean;
  /** `registrations_require_3pid`: the media a new account must validate (only email here). */
  readonly registrationsRequire3pid: readonly "email"[];
  /** `allowed_local_3pids`; undefined: every address is allowed. */
  readonly allowedLocal3pids: readonly AllowedLocal3pid[] | undefined;
}
