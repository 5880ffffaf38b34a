// push-gateway.yaml: where the gateway listens and the apps it delivers for, in Sygnal's shape, so
// that a Sygnal configuration runs here unchanged:
//
//   http: {port: 5000, bind_addresses: ["127.0.0.1"]}
//   apps:
//     com.example.app.ios: {type: apns, keyfile: AuthKey.p8, key_id: KEYID, team_id: TEAMID, topic: com.example.app}
//     com.example.app.android: {type: gcm, api_version: v1, project_id: my-project, service_account_file: sa.json}
//     com.example.app.web: {type: webpush, vapid_private_key: vapid.pem, vapid_contact_email: admin@example.com}
//
// An app ID may end in `*`-patterns (Sygnal's), matched when no app has the exact ID.
import { readLogLevel, readServiceHttp, readYamlFile } from "../config/service-file.ts";
import type { LogLevel } from "../config/types.ts";
import { Section, describe } from "../config/section.ts";
import type { ReadContext } from "../config/section.ts";

export interface ApnsAppConfig {
  readonly type: "apns";
  /** The .p8 signing key of token-based authentication, its key ID and the team's ID. */
  readonly keyFile: string;
  readonly keyId: string;
  readonly teamId: string;
  /** The apns-topic: the app's bundle ID. */
  readonly topic: string;
  readonly platform: "production" | "sandbox";
  /** Where APNs is reached: Apple's host for the platform unless told (a proxy, a test server). */
  readonly apiUrl: string | undefined;
}

export interface FcmAppConfig {
  readonly type: "gcm";
  /** The Firebase project; the service account's own when not told. */
  readonly projectId: string | undefined;
  readonly serviceAccountFile: string;
  /** Where FCM's HTTP v1 API is reached: Google's unless told. */
  readonly apiUrl: string | undefined;
}

export interface WebPushAppConfig {
  readonly type: "webpush";
  /** The VAPID key pair's private key, a PEM file (as Sygnal's and py_vapid's). */
  readonly vapidPrivateKey: string;
  readonly vapidContactEmail: string;
  /** How long a push service keeps an undelivered message, in seconds (the TTL header). */
  readonly ttl: number;
}

export type AppConfig = ApnsAppConfig | FcmAppConfig | WebPushAppConfig;

export interface PushGatewayConfig {
  readonly port: number;
  readonly bindAddresses: readonly string[];
  readonly xForwarded: boolean;
  readonly logLevel: LogLevel;
  /** By app ID (or pattern), in file order. */
  readonly apps: ReadonlyMap<string, AppConfig>;
}

export interface LoadedPushGatewayConfig {
  readonly config: PushGatewayConfig;
  readonly warnings: string[];
}

const DEFAULT_PORT = 5000;
/** Sygnal's default TTL for web pushes: 15 minutes. */
const DEFAULT_WEBPUSH_TTL = 15 * 60;

export async function loadPushGatewayConfig(configPath: string, cwd: string = process.cwd()): Promise<LoadedPushGatewayConfig> {
  const { raw, warnings, baseDir } = await readYamlFile(configPath, cwd);
  const loaded = parsePushGatewayConfig(raw, baseDir);
  return { ...loaded, warnings: [...warnings, ...loaded.warnings] };
}

/** Reads the parsed YAML; relative file paths resolve against `baseDir`. */
export function parsePushGatewayConfig(raw: unknown, baseDir: string): LoadedPushGatewayConfig {
  const ctx: ReadContext = { baseDir, warnings: [] };
  const root = Section.of(ctx, raw, "");
  const { http, port, bindAddresses, xForwarded } = readServiceHttp(root, DEFAULT_PORT);
  http?.finish();
  const logLevel = readLogLevel(root);
  root.ignore("log", "(Sygnal's logging setup) is not read: use log_level");
  root.ignore("metrics", "(Sygnal's Prometheus and Sentry setup) is not read");
  root.ignore("proxy", "(an HTTP proxy for outgoing pushes) is not supported yet");

  const appsSection = root.section("apps") ?? root.fail("apps", "is required: the apps to deliver for, by app ID");
  const apps = new Map<string, AppConfig>();
  for (const appId of appsSection.keys()) {
    const app = appsSection.section(appId) ?? appsSection.fail(appId, "must be a mapping");
    apps.set(appId, readApp(app));
  }
  if (apps.size === 0) root.fail("apps", "must name at least one app");
  appsSection.finish();
  root.finish();
  return { config: { port, bindAddresses, xForwarded, logLevel, apps }, warnings: ctx.warnings };
}

function readApp(s: Section): AppConfig {
  const type = s.string("type") ?? s.fail("type", "is required: apns, gcm or webpush");
  s.ignore("inflight_request_limit", "(Sygnal's) is not read");
  s.ignore("max_connections", "(Sygnal's) is not read");
  let app: AppConfig;
  switch (type) {
    case "apns": {
      if (s.has("certfile")) s.fail("certfile", "certificate-based APNs authentication is not supported: use token-based (keyfile, key_id, team_id)");
      const platform = s.string("platform") ?? "production";
      if (platform !== "production" && platform !== "sandbox") s.fail("platform", `must be production or sandbox, got ${describe(platform)}`);
      app = {
        type,
        keyFile: s.filePath("keyfile") ?? s.fail("keyfile", "is required: the .p8 key of token-based authentication"),
        keyId: s.string("key_id") ?? s.fail("key_id", "is required"),
        teamId: s.string("team_id") ?? s.fail("team_id", "is required"),
        topic: s.string("topic") ?? s.fail("topic", "is required: the app's bundle ID"),
        platform,
        apiUrl: s.string("api_url"),
      };
      s.ignore("push_type", "is not read: pushes are alerts, or background for low-priority count updates");
      break;
    }
    case "gcm": {
      const version = s.string("api_version") ?? "v1";
      // Google shut the legacy FCM API down in 2024.
      if (version !== "v1") s.fail("api_version", "only v1 (FCM's HTTP v1 API) is supported: the legacy API is gone");
      if (s.has("api_key")) s.fail("api_key", "is the legacy FCM API's, which Google shut down: use service_account_file");
      app = {
        type,
        projectId: s.string("project_id"),
        serviceAccountFile: s.filePath("service_account_file") ?? s.fail("service_account_file", "is required: the service account's JSON key"),
        apiUrl: s.string("api_url"),
      };
      s.ignore("fcm_options", "is not read");
      break;
    }
    case "webpush":
      app = {
        type,
        vapidPrivateKey: s.filePath("vapid_private_key") ?? s.fail("vapid_private_key", "is required: the VAPID private key, a PEM file"),
        vapidContactEmail: s.string("vapid_contact_email") ?? s.fail("vapid_contact_email", "is required"),
        ttl: s.integer("ttl", DEFAULT_WEBPUSH_TTL, 0),
      };
      break;
    default:
      s.fail("type", `must be apns, gcm or webpush, got ${describe(type)}`);
  }
  s.finish();
  return app;
}
