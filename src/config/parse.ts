// homeserver.yaml as parsed YAML -> HomeserverConfig. Keys are Synapse's wherever Synapse has the
// concept; every default is documented in types.ts or defaults.ts.
import { readFileSync } from "node:fs";
import { parseServerName } from "../core/identifiers/index.ts";
import type { ServerName } from "../core/identifiers/index.ts";
import type { JsonObject, JsonValue } from "../core/json.ts";
import { DEFAULT_ROOM_VERSION, getRoomVersion } from "../core/room-versions/room-versions.ts";
import { ConfigError } from "./config-error.ts";
import { readDatabase } from "./database.ts";
import { DEFAULT_DATA_DIR, DEFAULT_MAX_REQUEST_SIZE, DEFAULT_MAX_UPLOAD_SIZE } from "./defaults.ts";
import { readIpRangeBlocklist, readIpRanges, readTrustedKeyServers } from "./federation.ts";
import { readListeners } from "./listeners.ts";
import { readRateLimits } from "./rate-limits.ts";
import { readSso } from "./sso.ts";
import { readServerSupport } from "./support.ts";
import { readTurnConfig } from "./voip.ts";
import { readServerNotices } from "./server-notices.ts";
import { readUrlPreview } from "./url-preview.ts";
import { readAllowedLocal3pids, readHomeserverEmail, readRegistrationsRequire3pid } from "./threepids.ts";
import { describe, isMapping, resolvePath, Section } from "./section.ts";
import type { ReadContext } from "./section.ts";
import { parseDuration, parseSize } from "./values.ts";
import { readLogLevel } from "./service-file.ts";
import type { HomeserverConfig, ListenerConfig, MediaRetentionConfig } from "./types.ts";

export interface ParseOptions {
  /** Folder relative paths resolve against. */
  readonly baseDir: string;
  /** The file the document came from, for `HomeserverConfig.configPath`. */
  readonly configPath?: string;
}

/** Synapse options with no Weft counterpart, and why; present, they earn a warning. */
const SYNAPSE_ONLY: Readonly<Record<string, string>> = {
  macaroon_secret_key: "is Synapse-only (Weft's access tokens are not macaroons)",
  form_secret: "is Synapse-only (Weft serves no HTML forms)",
  log_config: "is Synapse's Python logging config (Weft uses log_level)",
  pid_file: "is Synapse-only (Weft does not daemonize)",
};


/** The default listener: plain HTTP on loopback, every resource (a reverse proxy adds TLS). */
export const DEFAULT_LISTENER: ListenerConfig = {
  type: "http",
  port: 8008,
  bindAddresses: ["127.0.0.1"],
  tls: false,
  xForwarded: false,
  resources: [{ names: ["client", "federation", "media", "keys"], compress: false }],
};

/** Validates and normalises a parsed homeserver.yaml; throws ConfigError naming the bad key. */
export function parseConfig(raw: unknown, options: ParseOptions): { config: HomeserverConfig; warnings: string[] } {
  const ctx: ReadContext = { baseDir: options.baseDir, warnings: [] };
  const root = Section.of(ctx, raw ?? {}, "");
  const dataPath = (name: string): string => resolvePath(ctx.baseDir, `${DEFAULT_DATA_DIR}/${name}`);

  const name = root.string("server_name") ?? root.fail("server_name", "is required");
  const serverName = parseServerName(name) ?? root.fail("server_name", `is not a valid server name (host, IPv4 or [IPv6], optionally :port): ${describe(name)}`);

  const listenerItems = root.list("listeners");
  const listeners = listenerItems === undefined ? [DEFAULT_LISTENER] : readListeners(ctx, listenerItems, "listeners");
  const tlsCertificatePath = root.filePath("tls_certificate_path");
  const tlsPrivateKeyPath = root.filePath("tls_private_key_path");
  const tlsIndex = listeners.findIndex((l) => l.tls);
  if (tlsIndex >= 0 && (tlsCertificatePath === undefined || tlsPrivateKeyPath === undefined)) {
    throw new ConfigError(`listeners[${tlsIndex}].tls`, "needs tls_certificate_path and tls_private_key_path");
  }

  const enableRegistration = root.boolean("enable_registration", false);
  const enableRegistrationWithoutVerification = root.boolean("enable_registration_without_verification", false);
  const registrationRequiresToken = root.boolean("registration_requires_token", false);
  const email = readHomeserverEmail(root);
  const registrationsRequire3pid = readRegistrationsRequire3pid(root, email);
  // Synapse's safety rule: open registration needs some check, or an explicit opt-out.
  if (enableRegistration && !registrationRequiresToken && !enableRegistrationWithoutVerification && registrationsRequire3pid.length === 0) {
    root.fail("enable_registration", "open registration lets anyone create accounts: set registration_requires_token, registrations_require_3pid or enable_registration_without_verification");
  }

  const database = root.section("database");
  for (const [key, why] of Object.entries(SYNAPSE_ONLY)) root.ignore(key, why);

  const reportStats = root.boolean("report_stats", false);
  if (reportStats) ctx.warnings.push("config key report_stats: Weft does not report usage statistics: ignored");

  const config: HomeserverConfig = {
    configPath: options.configPath,
    serverName,
    ...readPublicBaseurl(root, serverName),
    extraWellKnownClientContent: readWellKnownClientContent(root),
    serveServerWellKnown: root.boolean("serve_server_wellknown", false),
    listeners,
    database: database === undefined ? { engine: "sqlite", path: dataPath("homeserver.db") } : readDatabase(database, dataPath("homeserver.db")),
    mediaStorePath: root.filePath("media_store_path") ?? dataPath("media_store"),
    maxUploadSize: readSize(root, "max_upload_size", DEFAULT_MAX_UPLOAD_SIZE),
    enableAuthenticatedMedia: root.boolean("enable_authenticated_media", true),
    mediaRetention: readMediaRetention(root),
    maxRequestSize: readSize(root, "max_request_size", DEFAULT_MAX_REQUEST_SIZE),
    signingKeyPath: root.filePath("signing_key_path") ?? dataPath(`${serverName.replace(/[^A-Za-z0-9.-]/g, "_")}.signing.key`),
    enableRegistration,
    enableRegistrationWithoutVerification,
    registrationSharedSecret: readSharedSecret(root),
    registrationRequiresToken,
    allowGuestAccess: root.boolean("allow_guest_access", false),
    tlsCertificatePath,
    tlsPrivateKeyPath,
    federationVerifyCertificates: root.boolean("federation_verify_certificates", true),
    federationCustomCaList: (root.stringList("federation_custom_ca_list") ?? []).map((p) => resolvePath(ctx.baseDir, p)),
    allowDeviceNameLookupOverFederation: root.boolean("allow_device_name_lookup_over_federation", false),
    allowPublicRoomsOverFederation: root.boolean("allow_public_rooms_over_federation", false),
    ipRangeBlocklist: readIpRangeBlocklist(root),
    ipRangeAllowlist: readIpRanges(root, "ip_range_whitelist", []),
    trustedKeyServers: readTrustedKeyServers(root),
    suppressKeyServerWarning: root.boolean("suppress_key_server_warning", false),
    rateLimits: readRateLimits(root),
    defaultRoomVersion: readDefaultRoomVersion(root),
    appServiceConfigFiles: (root.stringList("app_service_config_files") ?? []).map((p) => resolvePath(ctx.baseDir, p)),
    reportStats,
    presence: { enabled: readPresenceEnabled(root) },
    logLevel: readLogLevel(root),
    turn: readTurnConfig(root),
    serverNotices: readServerNotices(root),
    serverSupport: readServerSupport(root),
    urlPreview: readUrlPreview(root),
    email,
    enable3pidChanges: root.boolean("enable_3pid_changes", true),
    registrationsRequire3pid,
    allowedLocal3pids: readAllowedLocal3pids(root),
    sso: readSso(root),
  };
  // What suppress_key_server_warning is for, as in Synapse: a notary can vouch for any key.
  if (!config.suppressKeyServerWarning && config.trustedKeyServers.some((k) => k.serverName === "matrix.org")) {
    ctx.warnings.push("trusted_key_servers: matrix.org is trusted to vouch for other servers' signing keys (set suppress_key_server_warning: true to silence this)");
  }
  root.finish();
  return { config, warnings: ctx.warnings };
}

function readPublicBaseurl(root: Section, serverName: ServerName): { publicBaseurl: string; serveClientWellKnown: boolean } {
  const given = root.string("public_baseurl");
  // As Synapse: without an explicit public_baseurl the client well-known is not served, since
  // the guessed URL may be wrong.
  if (given === undefined) return { publicBaseurl: `https://${serverName}/`, serveClientWellKnown: false };
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    root.fail("public_baseurl", `is not a URL: ${describe(given)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") root.fail("public_baseurl", "must be an http or https URL");
  if (url.search !== "" || url.hash !== "" || given.includes("?") || given.includes("#")) root.fail("public_baseurl", "must not have a query or #fragment");
  return { publicBaseurl: given.endsWith("/") ? given : `${given}/`, serveClientWellKnown: true };
}

function readWellKnownClientContent(root: Section): JsonObject {
  const value = root.value("extra_well_known_client_content");
  const path = "extra_well_known_client_content";
  if (value === undefined) return {};
  // YAML can hold dates and other values a JSON response body cannot.
  if (!isMapping(value) || !isJsonValue(value)) throw new ConfigError(path, "must be a mapping of JSON values");
  if ("m.homeserver" in value) throw new ConfigError(`${path}.m.homeserver`, "is set from public_baseurl: remove it here");
  return value;
}

function isJsonValue(value: unknown): value is JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isJsonValue);
}

function readSize(root: Section, key: string, fallback: number): number {
  const value = root.value(key);
  if (value === undefined) return fallback;
  return parseSize(value) ?? root.fail(key, `must be a size in bytes, e.g. 1048576 or "50M" (K, M, G suffixes), got ${describe(value)}`);
}

function readMediaRetention(root: Section): MediaRetentionConfig {
  const section = root.section("media_retention");
  if (section === undefined) return { localMediaLifetimeMs: undefined, remoteMediaLifetimeMs: undefined };
  const lifetime = (key: string): number | undefined => {
    const value = section.value(key);
    if (value === undefined) return undefined; // unset: kept forever, as Synapse
    const ms = parseDuration(value);
    // A lifetime of 0 would delete every media at each run, however recently used.
    if (ms === undefined || ms === 0) section.fail(key, `must be a duration greater than 0, e.g. "14d", "90d", "1y" or milliseconds (leave it unset to keep media forever), got ${describe(value)}`);
    return ms;
  };
  const config = { localMediaLifetimeMs: lifetime("local_media_lifetime"), remoteMediaLifetimeMs: lifetime("remote_media_lifetime") };
  section.finish();
  return config;
}

function readSharedSecret(root: Section): string | undefined {
  const secret = root.string("registration_shared_secret");
  const file = root.filePath("registration_shared_secret_path");
  if (file === undefined) return secret;
  if (secret !== undefined) root.fail("registration_shared_secret_path", "give registration_shared_secret or registration_shared_secret_path, not both");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("registration_shared_secret_path", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const trimmed = text.trim();
  if (trimmed === "") root.fail("registration_shared_secret_path", `${file} is empty`);
  return trimmed;
}

function readDefaultRoomVersion(root: Section): string {
  const value = root.value("default_room_version");
  if (value === undefined) return DEFAULT_ROOM_VERSION;
  // YAML reads `default_room_version: 10` as a number; Synapse takes it as the string.
  const id = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
  if (typeof id !== "string" || getRoomVersion(id)?.stable !== true) {
    root.fail("default_room_version", `must be a known stable room version, got ${describe(value)}`);
  }
  return id;
}

function readPresenceEnabled(root: Section): boolean {
  const legacy = root.boolean("use_presence", true); // Synapse's older spelling
  const presence = root.section("presence");
  if (presence === undefined) return legacy;
  let enabled: boolean;
  if (presence.value("enabled") === "untracked") {
    root.ctx.warnings.push("presence.enabled: 'untracked' is Synapse-only: treated as true");
    enabled = true;
  } else {
    enabled = presence.boolean("enabled", legacy);
  }
  presence.finish();
  return enabled;
}

