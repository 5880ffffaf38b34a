// identity-service.yaml: the identity service's own configuration, read with the homeserver's
// Section so that errors name the key. Keys shared with homeserver.yaml (database, email, the
// federation and IP range keys, signing_key_path, log_level) keep homeserver.yaml's shapes:
//
//   server_name: id.example.org
//   public_baseurl: https://id.example.org
//   http: {port: 8090, bind_addresses: ["127.0.0.1"]}   # tls_certificate_path, tls_private_key_path: HTTPS here
//   database: identity.db                       # or postgres://..., or Synapse's {name, args}
//   email: {smtp_host: localhost, notif_from: "Example Identity <noreply@example.org>"}
//   sms: {account_sid: AC..., auth_token: ..., from: "+15005550006"}
//   terms: {policies: {privacy_policy: {version: "1.0", en: {name: Privacy Policy, url: https://...}}}}
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { readLogLevel, readServiceHttp, readYamlFile } from "../config/service-file.ts";
import type { LogLevel } from "../config/types.ts";
import { readDatabase } from "../config/database.ts";
import { readEmail, type EmailConfig } from "../config/email.ts";
import { readIpRangeBlocklist, readIpRanges } from "../config/federation.ts";
import { Section, describe, resolvePath } from "../config/section.ts";
import type { ReadContext } from "../config/section.ts";
import { parseDuration } from "../config/values.ts";
import { parseServerName } from "../core/identifiers/index.ts";
import type { DatabaseConfig } from "../storage/database.ts";
import type { RateLimitSettings } from "../http/rate-limit.ts";

/** Twilio's Messages API (the `sms` section). */
export interface SmsConfig {
  readonly accountSid: string;
  readonly authToken: string;
  /** The sender: an E.164 number of the account, or a messaging service or alphanumeric ID. */
  readonly from: string;
  /** Where Twilio's API is reached: Twilio's own unless told (a proxy, a test server). */
  readonly apiBaseUrl: string;
}

/** One policy of GET /terms (v2_terms.yaml "Policy Object"): its version and its text per language. */
export interface Policy {
  readonly version: string;
  readonly languages: ReadonlyMap<string, { readonly name: string; readonly url: string }>;
}

export interface IdentityServiceConfig {
  /** The service's public hostname: the signing name of its signatures. */
  readonly serverName: string;
  /** The URL clients and mail links reach the service at, without a trailing slash. */
  readonly publicBaseurl: string;
  readonly port: number;
  readonly bindAddresses: readonly string[];
  readonly xForwarded: boolean;
  /** PEM files to serve HTTPS with, rather than HTTP behind a reverse proxy. */
  readonly tls: { readonly certificatePath: string; readonly privateKeyPath: string } | undefined;
  readonly logLevel: LogLevel;
  readonly signingKeyPath: string;
  readonly database: DatabaseConfig;
  readonly email: EmailConfig | undefined;
  readonly sms: SmsConfig | undefined;
  /** By policy ID, in file order; empty when the service asks no terms. */
  readonly policies: ReadonlyMap<string, Policy>;
  readonly federationVerifyCertificates: boolean;
  /** PEM files trusted besides the system's roots when reaching homeservers. */
  readonly federationCustomCaList: readonly string[];
  readonly ipRangeBlocklist: readonly string[];
  readonly ipRangeAllowlist: readonly string[];
  /** How long a validation session lives after its last change (identity-service-api: 24 hours). */
  readonly validationSessionLifetimeMs: number;
  /** The web client the invitation mails link to. */
  readonly webClientLocation: string;
  /** requestToken per client address, and the mails or SMS sent per 3PID. */
  readonly requestTokenRateLimits: { readonly ip: RateLimitSettings; readonly threepid: RateLimitSettings };
}

export interface LoadedIdentityServiceConfig {
  readonly config: IdentityServiceConfig;
  readonly warnings: string[];
}

const DEFAULT_PORT = 8090;
// identity-service-api#establishing-associations: "within a 24-hour period since its most recent modification".
const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_RATE_LIMITS = {
  ip: { perSecond: 0.2, burstCount: 20 },
  threepid: { perSecond: 1 / 60, burstCount: 5 },
};

export async function loadIdentityServiceConfig(configPath: string, cwd: string = process.cwd()): Promise<LoadedIdentityServiceConfig> {
  const { raw, warnings, baseDir } = await readYamlFile(configPath, cwd);
  const loaded = parseIdentityServiceConfig(raw, baseDir);
  return { ...loaded, warnings: [...warnings, ...loaded.warnings] };
}

/** Reads the parsed YAML; relative file paths resolve against `baseDir`. */
export function parseIdentityServiceConfig(raw: unknown, baseDir: string): LoadedIdentityServiceConfig {
  const ctx: ReadContext = { baseDir, warnings: [] };
  const root = Section.of(ctx, raw, "");
  const serverName = root.string("server_name") ?? root.fail("server_name", "is required: the identity service's public hostname");
  if (parseServerName(serverName) === undefined) root.fail("server_name", `is not a valid server name: ${describe(serverName)}`);
  const publicBaseurl = readBaseUrl(root, "public_baseurl") ?? `https://${serverName}`;

  const { http, port, bindAddresses, xForwarded } = readServiceHttp(root, DEFAULT_PORT);
  const certificatePath = http?.filePath("tls_certificate_path");
  const privateKeyPath = http?.filePath("tls_private_key_path");
  if ((certificatePath === undefined) !== (privateKeyPath === undefined)) {
    http?.fail(certificatePath === undefined ? "tls_certificate_path" : "tls_private_key_path", "is needed with the other tls_ key: HTTPS takes a certificate and its private key");
  }
  const tls = certificatePath === undefined || privateKeyPath === undefined ? undefined : { certificatePath, privateKeyPath };
  http?.finish();

  const logLevel = readLogLevel(root);

  const signingKeyPath = root.filePath("signing_key_path") ?? resolvePath(baseDir, `${serverName}.signing.key`);
  const database = readIdentityDatabase(root, baseDir);

  const emailSection = root.section("email");
  const email = emailSection === undefined ? undefined : readEmail(emailSection, "Matrix identity service");
  emailSection?.finish();
  const smsSection = root.section("sms");
  const sms = smsSection === undefined ? undefined : readSms(smsSection);
  const policies = readTerms(root);

  const federationVerifyCertificates = root.boolean("federation_verify_certificates", true);
  const federationCustomCaList = (root.stringList("federation_custom_ca_list") ?? []).map((file) => resolvePath(baseDir, file));
  const ipRangeBlocklist = readIpRangeBlocklist(root);
  const ipRangeAllowlist = readIpRanges(root, "ip_range_whitelist", []);

  const lifetime = root.value("validation_session_lifetime");
  let validationSessionLifetimeMs = DAY_MS;
  if (lifetime !== undefined) {
    const parsed = parseDuration(lifetime);
    if (parsed === undefined || parsed <= 0) root.fail("validation_session_lifetime", `must be a duration such as 24h or a number of milliseconds, got ${describe(lifetime)}`);
    validationSessionLifetimeMs = parsed ?? DAY_MS;
  }
  const webClientLocation = readBaseUrl(root, "web_client_location") ?? "https://app.element.io";
  const requestTokenRateLimits = readRateLimits(root);
  root.finish();
  return {
    config: {
      serverName,
      publicBaseurl,
      port,
      bindAddresses,
      xForwarded,
      tls,
      logLevel,
      signingKeyPath,
      database,
      email,
      sms,
      policies,
      federationVerifyCertificates,
      federationCustomCaList,
      ipRangeBlocklist,
      ipRangeAllowlist,
      validationSessionLifetimeMs,
      webClientLocation,
      requestTokenRateLimits,
    },
    warnings: ctx.warnings,
  };
}

/** An http(s) URL, kept without its trailing slash so that paths can be appended. */
function readBaseUrl(s: Section, key: string): string | undefined {
  const value = s.string(key);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return s.fail(key, `must be an http or https URL, got ${describe(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") s.fail(key, `must be an http or https URL, got ${describe(value)}`);
  return value.replace(/\/+$/, "");
}

/** `database`: a SQLite file path, a postgres:// URL, or homeserver.yaml's `{name, args}`. */
function readIdentityDatabase(root: Section, baseDir: string): DatabaseConfig {
  const defaultPath = resolvePath(baseDir, "identity.db");
  const value = root.value("database");
  if (value === undefined) return { engine: "sqlite", path: defaultPath };
  if (typeof value === "string") {
    if (value === "") root.fail("database", "must not be empty");
    if (/^postgres(ql)?:\/\//.test(value)) return { engine: "postgres", connectionString: value };
    return { engine: "sqlite", path: value === ":memory:" ? value : resolvePath(baseDir, value) };
  }
  const section = root.section("database") ?? root.fail("database", "must be a path, a postgres:// URL or a mapping");
  return readDatabase(section, defaultPath);
}

function readSms(s: Section): SmsConfig {
  const from = s.string("from") ?? s.fail("from", "is required: the number (E.164) or sender ID the SMS come from");
  // A number must be E.164 for Twilio; an alphanumeric sender ID or a messaging service SID is taken as is.
  if (from.startsWith("+") && parsePhoneNumberFromString(from)?.isPossible() !== true) s.fail("from", `is not an E.164 phone number: ${describe(from)}`);
  const config: SmsConfig = {
    accountSid: s.string("account_sid") ?? s.fail("account_sid", "is required: the Twilio account SID"),
    authToken: s.string("auth_token") ?? s.fail("auth_token", "is required: the Twilio auth token"),
    from,
    apiBaseUrl: readBaseUrl(s, "api_base_url") ?? "https://api.twilio.com",
  };
  s.finish();
  return config;
}

/** `terms.policies`, shaped as GET /terms answers them (v2_terms.yaml). */
function readTerms(root: Section): ReadonlyMap<string, Policy> {
  const policies = new Map<string, Policy>();
  const terms = root.section("terms");
  if (terms === undefined) return policies;
  const section = terms.section("policies") ?? terms.fail("policies", "is required: the policies by ID, each with a version and its text per language");
  for (const id of section.keys()) {
    const policy = section.section(id) ?? section.fail(id, "must be a mapping");
    const version = policy.value("version");
    if (typeof version !== "string" && typeof version !== "number") policy.fail("version", "is required: a string");
    const languages = new Map<string, { name: string; url: string }>();
    for (const language of policy.keys()) {
      if (language === "version") continue;
      const text = policy.section(language) ?? policy.fail(language, "must be a mapping of name and url");
      const name = text.string("name") ?? text.fail("name", "is required");
      const url = text.string("url") ?? text.fail("url", "is required");
      text.finish();
      languages.set(language, { name, url });
    }
    if (languages.size === 0) section.fail(id, "must give the policy in at least one language ({name, url})");
    policy.finish();
    policies.set(id, { version: String(version), languages });
  }
  section.finish();
  terms.finish();
  return policies;
}

function readRateLimits(root: Section): IdentityServiceConfig["requestTokenRateLimits"] {
  const s = root.section("rc_request_token");
  if (s === undefined) return DEFAULT_RATE_LIMITS;
  const read = (key: "ip" | "threepid"): RateLimitSettings => {
    const limit = s.section(key);
    if (limit === undefined) return DEFAULT_RATE_LIMITS[key];
    const settings = { perSecond: limit.nonNegativeNumber("per_second", DEFAULT_RATE_LIMITS[key].perSecond), burstCount: limit.nonNegativeNumber("burst_count", DEFAULT_RATE_LIMITS[key].burstCount) };
    limit.finish();
    return settings;
  };
  const limits = { ip: read("ip"), threepid: read("threepid") };
  s.finish();
  return limits;
}
