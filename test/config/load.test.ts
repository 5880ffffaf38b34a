import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ROOM_VERSION } from "../../src/core/room-versions/room-versions.ts";
import { ConfigError, DEFAULT_IP_RANGE_BLOCKLIST, loadConfig, parseConfigText } from "../../src/config/index.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-config-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

// A homeserver.yaml as a Synapse admin would write it, with every key Weft reads.
const FULL = `
server_name: "example.org"
public_baseurl: https://matrix.example.org
serve_server_wellknown: true
extra_well_known_client_content:
  org.example.custom: { answer: 42 }
listeners:
  - port: 8008
    tls: false
    type: http
    x_forwarded: true
    bind_addresses: ['::1', '127.0.0.1']
    resources:
      - names: [client, federation]
        compress: false
      - names: [media, keys, health, openid]
  - port: 8448
    type: http
    tls: true
    bind_address: 0.0.0.0
    resources:
      - names: [federation]
database:
  name: psycopg2
  txn_limit: 10000
  args:
    user: synapse_user
    password: "p@ss:word"
    dbname: synapse
    host: db.internal
    port: 5432
    cp_min: 5
    cp_max: 10
    sslmode: require
media_store_path: /var/lib/weft/media_store
max_upload_size: 100M
media_retention:
  local_media_lifetime: 90d
  remote_media_lifetime: 14d
max_request_size: 2M
signing_key_path: "keys/example.org.signing.key"
enable_registration: true
enable_registration_without_verification: false
registration_requires_token: true
registration_shared_secret: "s3cret"
allow_guest_access: yes
tls_certificate_path: "tls/fullchain.pem"
tls_private_key_path: "tls/privkey.pem"
federation_verify_certificates: true
federation_custom_ca_list:
  - /etc/ssl/internal-ca.pem
allow_device_name_lookup_over_federation: true
ip_range_blacklist:
  - '127.0.0.0/8'
  - '10.0.0.0/8'
  - 'fe80::/10'
  - '192.0.2.1'
ip_range_whitelist:
  - '10.1.0.0/16'
trusted_key_servers:
  - server_name: "matrix.org"
    verify_keys:
      "ed25519:auto": "Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw"
  - server_name: "notary.example.net:8448"
    accept_keys_insecurely: true
suppress_key_server_warning: true
rc_message:
  per_second: 0.5
  burst_count: 20
rc_registration:
  per_second: 0.1
  burst_count: 2
rc_login:
  address:
    per_second: 0.2
    burst_count: 4
  account:
    per_second: 0.3
  failed_attempts:
    burst_count: 7
rc_joins:
  local:
    per_second: 0.5
    burst_count: 15
  remote:
    per_second: 0.05
    burst_count: 12
rc_media_create:
  burst_count: 3
rc_federation:
  window_size: 750
  sleep_limit: 15
  sleep_delay: 400
  reject_limit: 40
  concurrent: 5
default_room_version: 10
app_service_config_files:
  - appservices/irc.yaml
report_stats: false
presence:
  enabled: false
log_level: debug
`;

describe("loadConfig", () => {
  it("gives the embedded defaults without a config file", async () => {
    const { config, warnings } = await loadConfig({ cwd: dir });
    assert.deepEqual(warnings, []);
    assert.equal(config.configPath, undefined);
    assert.equal(config.serverName, "localhost");
    assert.deepEqual(config.listeners, [
      { type: "http", port: 8008, bindAddresses: ["127.0.0.1"], tls: false, xForwarded: false, resources: [{ names: ["client", "federation", "media", "keys"], compress: false }] },
    ]);
    assert.deepEqual(config.database, { engine: "sqlite", path: join(dir, "data", "homeserver.db") });
    assert.equal(config.mediaStorePath, join(dir, "data", "media_store"));
    assert.equal(config.signingKeyPath, join(dir, "data", "localhost.signing.key"));
    assert.equal(config.maxUploadSize, 50 * 1024 * 1024);
    // Synapse's default: media are kept forever.
    assert.deepEqual(config.mediaRetention, { localMediaLifetimeMs: undefined, remoteMediaLifetimeMs: undefined });
    assert.equal(config.defaultRoomVersion, DEFAULT_ROOM_VERSION);
    assert.equal(config.enableRegistration, false);
    assert.equal(config.registrationSharedSecret, undefined);
    assert.deepEqual(config.trustedKeyServers, []);
    assert.deepEqual(config.ipRangeBlocklist, [...DEFAULT_IP_RANGE_BLOCKLIST, "0.0.0.0/32", "::/128"]);
    assert.deepEqual(config.rateLimits.message, { perSecond: 0.2, burstCount: 10 });
    assert.deepEqual(config.rateLimits.login.failedAttempts, { perSecond: 0.17, burstCount: 3 });
    assert.deepEqual(config.rateLimits.joins.remote, { perSecond: 0.01, burstCount: 10 });
    assert.deepEqual(config.rateLimits.mediaCreate, { perSecond: 10, burstCount: 50 });
    assert.equal(config.rateLimits.federation.concurrent, 3);
    assert.equal(config.logLevel, "info");
    assert.equal(config.presence.enabled, true);
    assert.equal(config.federationVerifyCertificates, true);
    assert.equal(config.allowDeviceNameLookupOverFederation, false);
    assert.equal(config.allowPublicRoomsOverFederation, false);
  });

  it("reads a full Synapse-style homeserver.yaml", async () => {
    const path = await writeConfig("full.yaml", FULL);
    const { config, warnings } = await loadConfig({ configPath: path });
    assert.equal(config.configPath, path);
    assert.equal(config.serverName, "example.org");
    assert.equal(config.publicBaseurl, "https://matrix.example.org/");
    assert.equal(config.serveClientWellKnown, true);
    assert.deepEqual(config.extraWellKnownClientContent, { "org.example.custom": { answer: 42 } });
    assert.equal(config.serveServerWellKnown, true);
    assert.deepEqual(config.listeners, [
      {
        type: "http", port: 8008, bindAddresses: ["::1", "127.0.0.1"], tls: false, xForwarded: true,
        resources: [{ names: ["client", "federation"], compress: false }, { names: ["media", "keys", "health", "openid"], compress: false }],
      },
      { type: "http", port: 8448, bindAddresses: ["0.0.0.0"], tls: true, xForwarded: false, resources: [{ names: ["federation"], compress: false }] },
    ]);
    assert.deepEqual(config.database, {
      engine: "postgres",
      connectionString: "postgresql://synapse_user:p%40ss%3Aword@db.internal:5432/synapse?sslmode=require",
      poolSize: 10,
    });
    assert.equal(config.mediaStorePath, "/var/lib/weft/media_store");
    assert.equal(config.maxUploadSize, 100 * 1024 * 1024);
    assert.deepEqual(config.mediaRetention, { localMediaLifetimeMs: 90 * 24 * 60 * 60 * 1000, remoteMediaLifetimeMs: 14 * 24 * 60 * 60 * 1000 });
    assert.equal(config.maxRequestSize, 2 * 1024 * 1024);
    assert.equal(config.signingKeyPath, join(dir, "keys", "example.org.signing.key"));
    assert.equal(config.enableRegistration, true);
    assert.equal(config.enableRegistrationWithoutVerification, false);
    assert.equal(config.registrationRequiresToken, true);
    assert.equal(config.registrationSharedSecret, "s3cret");
    assert.equal(config.allowGuestAccess, true); // YAML 1.1 `yes`, as Synapse reads it
    assert.equal(config.tlsCertificatePath, join(dir, "tls", "fullchain.pem"));
    assert.equal(config.tlsPrivateKeyPath, join(dir, "tls", "privkey.pem"));
    assert.equal(config.federationVerifyCertificates, true);
    assert.deepEqual(config.federationCustomCaList, ["/etc/ssl/internal-ca.pem"]);
    assert.equal(config.allowDeviceNameLookupOverFederation, true);
    assert.deepEqual(config.ipRangeBlocklist, ["127.0.0.0/8", "10.0.0.0/8", "fe80::/10", "192.0.2.1/32", "0.0.0.0/32", "::/128"]);
    assert.deepEqual(config.ipRangeAllowlist, ["10.1.0.0/16"]);
    assert.deepEqual(config.trustedKeyServers, [
      { serverName: "matrix.org", verifyKeys: { "ed25519:auto": "Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw" }, acceptKeysInsecurely: false },
      { serverName: "notary.example.net:8448", acceptKeysInsecurely: true },
    ]);
    assert.equal(config.suppressKeyServerWarning, true);
    assert.deepEqual(config.rateLimits, {
      message: { perSecond: 0.5, burstCount: 20 },
      registration: { perSecond: 0.1, burstCount: 2 },
      login: {
        address: { perSecond: 0.2, burstCount: 4 },
        account: { perSecond: 0.3, burstCount: 5 }, // burst_count left at Synapse's default
        failedAttempts: { perSecond: 0.17, burstCount: 7 },
      },
      joins: { local: { perSecond: 0.5, burstCount: 15 }, remote: { perSecond: 0.05, burstCount: 12 } },
      mediaCreate: { perSecond: 10, burstCount: 3 }, // per_second left at Synapse's default
      threepidValidation: { perSecond: 0.003, burstCount: 5 }, // not in the file: Synapse's default
      federation: { windowSize: 750, sleepLimit: 15, sleepDelay: 400, rejectLimit: 40, concurrent: 5 },
    });
    assert.equal(config.defaultRoomVersion, "10");
    assert.deepEqual(config.appServiceConfigFiles, [join(dir, "appservices", "irc.yaml")]);
    assert.equal(config.reportStats, false);
    assert.deepEqual(config.presence, { enabled: false });
    assert.equal(config.logLevel, "debug");
    // Only the Synapse-only options of the database section are mentioned.
    assert.deepEqual(warnings, [
      "config key database.txn_limit is Synapse-only: ignored",
      "config key database.args.cp_min is not needed (the pool grows on demand up to cp_max): ignored",
    ]);
  });

  it("fills in defaults for keys a minimal file leaves out", async () => {
    const path = await writeConfig("minimal.yaml", "server_name: example.com\n");
    const { config, warnings } = await loadConfig({ configPath: path });
    assert.deepEqual(warnings, []);
    assert.equal(config.publicBaseurl, "https://example.com/");
    assert.equal(config.serveClientWellKnown, false);
    assert.equal(config.listeners[0]?.port, 8008);
    assert.deepEqual(config.database, { engine: "sqlite", path: join(dir, "data", "homeserver.db") });
    assert.equal(config.signingKeyPath, join(dir, "data", "example.com.signing.key"));
  });

  it("resolves relative paths against the config file's folder, not cwd", async () => {
    const path = await writeConfig("relative.yaml", "server_name: example.com\nmedia_store_path: media\ndatabase:\n  name: sqlite3\n  args:\n    database: db/hs.db\n");
    const { config } = await loadConfig({ configPath: "relative.yaml", cwd: dir });
    assert.equal(config.configPath, path);
    assert.equal(config.mediaStorePath, join(dir, "media"));
    assert.deepEqual(config.database, { engine: "sqlite", path: join(dir, "db", "hs.db") });
  });

  it("applies Synapse's listener defaults", () => {
    const { config } = parseConfigText("server_name: a.example\nlisteners:\n  - port: 9000\n    type: http\n", join(dir, "x.yaml"));
    assert.deepEqual(config.listeners[0], { type: "http", port: 9000, bindAddresses: ["::", "0.0.0.0"], tls: false, xForwarded: false, resources: [] });
  });

  it("warns once for each unknown key and each Synapse-only key, never failing", () => {
    const text = [
      "server_name: a.example",
      "macaroon_secret_key: abc",
      "form_secret: def",
      "enable_metrics: true",
      "dynamic_thumbnails: false",
      "listeners:",
      "  - port: 8008",
      "    type: http",
      "    tag: main",
      "    resources: [{names: [client, metrics]}]",
      "  - port: 9000",
      "    type: metrics",
      "rc_login:",
      "  address: {per_second: 1}",
      "  something_new: {per_second: 1}",
      "presence:",
      "  enabled: untracked",
    ].join("\n");
    const { config, warnings } = parseConfigText(text, join(dir, "x.yaml"));
    assert.equal(config.listeners.length, 1);
    assert.deepEqual(config.listeners[0]?.resources, [{ names: ["client"], compress: false }]);
    assert.equal(config.presence.enabled, true);
    assert.deepEqual([...warnings].sort(), [
      "config key form_secret is Synapse-only (Weft serves no HTML forms): ignored",
      "config key macaroon_secret_key is Synapse-only (Weft's access tokens are not macaroons): ignored",
      "listeners[0].resources[0].names[1]: resource 'metrics' is Synapse-only: ignored",
      "listeners[1].type: 'metrics' listeners are Synapse-only: listener ignored",
      "presence.enabled: 'untracked' is Synapse-only: treated as true",
      "unknown or not yet supported config key dynamic_thumbnails: ignored",
      "unknown or not yet supported config key enable_metrics: ignored",
      "unknown or not yet supported config key listeners[0].tag: ignored",
      "unknown or not yet supported config key rc_login.something_new: ignored",
    ]);
  });

  it("reads media_retention lifetimes as Synapse's durations, either left unset", () => {
    const read = (yaml: string) => parseConfigText(`server_name: a.example\n${yaml}`, join(dir, "x.yaml"));
    assert.deepEqual(read("media_retention:\n  remote_media_lifetime: 1y\n").config.mediaRetention, { localMediaLifetimeMs: undefined, remoteMediaLifetimeMs: 365 * 24 * 60 * 60 * 1000 });
    assert.deepEqual(read("media_retention:\n  local_media_lifetime: 86400000\n  remote_media_lifetime: 12h\n").config.mediaRetention, {
      localMediaLifetimeMs: 86_400_000, // a bare number is milliseconds
      remoteMediaLifetimeMs: 12 * 60 * 60 * 1000,
    });
    // `key:` alone, or the section alone, means unset: kept forever.
    assert.deepEqual(read("media_retention:\n  local_media_lifetime:\n").config.mediaRetention, { localMediaLifetimeMs: undefined, remoteMediaLifetimeMs: undefined });
    assert.deepEqual(read("media_retention:\n").config.mediaRetention, { localMediaLifetimeMs: undefined, remoteMediaLifetimeMs: undefined });
    assert.deepEqual(read("media_retention:\n  remote_media_lifetime: 14d\n  remote_media_lifetme: 1d\n").warnings, [
      "unknown or not yet supported config key media_retention.remote_media_lifetme: ignored",
    ]);
  });

  it("warns about matrix.org as a notary unless suppress_key_server_warning is set", () => {
    const text = "server_name: a.example\ntrusted_key_servers:\n  - server_name: matrix.org\n    accept_keys_insecurely: true\n";
    assert.match(parseConfigText(text, join(dir, "x.yaml")).warnings.join("\n"), /suppress_key_server_warning/);
    assert.deepEqual(parseConfigText(`${text}suppress_key_server_warning: true\n`, join(dir, "x.yaml")).warnings, []);
  });

  it("refuses a document that is not a mapping", () => {
    assert.throws(() => parseConfigText("- a\n- b\n", join(dir, "x.yaml")), (err) => err instanceof ConfigError && err.keyPath === undefined && /must be a mapping/.test(err.message));
  });

  it("builds PostgreSQL connection strings from psycopg2 arguments", () => {
    const parse = (args: string) => parseConfigText(`server_name: a.example\ndatabase:\n  name: psycopg2\n  args: ${args}\n`, join(dir, "x.yaml")).config.database;
    assert.deepEqual(parse("{url: 'postgresql://u:p@h/db', cp_max: 3}"), { engine: "postgres", connectionString: "postgresql://u:p@h/db", poolSize: 3 });
    assert.deepEqual(parse("{user: weft, database: weft, host: /run/postgresql, port: '5433'}"), {
      engine: "postgres",
      connectionString: "postgresql://weft@/weft?host=%2Frun%2Fpostgresql&port=5433",
    });
    assert.deepEqual(parse("{dbname: weft, host: '::1'}"), { engine: "postgres", connectionString: "postgresql://[::1]/weft" });
  });

  it("keeps an in-memory SQLite database as written", () => {
    const { config } = parseConfigText("server_name: a.example\ndatabase: {name: sqlite3, args: {database: ':memory:'}}\n", join(dir, "x.yaml"));
    assert.deepEqual(config.database, { engine: "sqlite", path: ":memory:" });
  });

  it("reads the registration secret from registration_shared_secret_path", async () => {
    await writeFile(join(dir, "secret.txt"), "from-a-file\n");
    const { config } = parseConfigText("server_name: a.example\nregistration_shared_secret_path: secret.txt\n", join(dir, "x.yaml"));
    assert.equal(config.registrationSharedSecret, "from-a-file");
  });

  it("reports an unreadable file and bad YAML as ConfigErrors", async () => {
    await assert.rejects(loadConfig({ configPath: join(dir, "missing.yaml") }), (err) => err instanceof ConfigError && /cannot read config file/.test(err.message));
    const path = await writeConfig("bad.yaml", "server_name: a\nserver_name: b\n");
    await assert.rejects(loadConfig({ configPath: path }), (err) => err instanceof ConfigError && /is not valid YAML/.test(err.message));
  });
});
