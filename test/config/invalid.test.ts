import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfigText } from "../../src/config/index.ts";

const HEADER = "server_name: example.org\n";
const LISTENER = "listeners:\n  - port: 8008\n    type: http\n";

// Each case: YAML appended to a valid header, the key path the error must name, and a fragment of
// the message.
const CASES: ReadonlyArray<{ yaml: string; keyPath: string; message: RegExp; header?: string }> = [
  { header: "", yaml: "log_level: info\n", keyPath: "server_name", message: /is required/ },
  { header: "", yaml: "server_name: 'exa mple.org'\n", keyPath: "server_name", message: /not a valid server name/ },
  { header: "", yaml: "server_name: 'example.org:99999'\n", keyPath: "server_name", message: /not a valid server name/ },
  { yaml: "listeners:\n  - port: 70000\n    type: http\n", keyPath: "listeners[0].port", message: /must be an integer from 1 to 65535/ },
  { yaml: "listeners:\n  - port: '8008'\n    type: http\n", keyPath: "listeners[0].port", message: /must be an integer from 1 to 65535/ },
  { yaml: "listeners:\n  - type: http\n", keyPath: "listeners[0].port", message: /is required/ },
  { yaml: "listeners:\n  - port: 8008\n    type: ftp\n", keyPath: "listeners[0].type", message: /must be http/ },
  { yaml: "listeners:\n  - port: 8008\n    type: http\n    tls: 'no'\n", keyPath: "listeners[0].tls", message: /must be true or false/ },
  { yaml: "listeners:\n  - port: 8008\n    type: http\n    bind_addresses: ['localhost']\n", keyPath: "listeners[0].bind_addresses[0]", message: /must be an IP address/ },
  { yaml: "listeners:\n  - port: 8008\n    type: http\n    resources: [{names: [client, bogus]}]\n", keyPath: "listeners[0].resources[0].names[1]", message: /unknown resource/ },
  { yaml: "listeners:\n  - port: 8448\n    type: http\n    tls: true\n", keyPath: "listeners[0].tls", message: /tls_certificate_path/ },
  { yaml: "listeners: []\n", keyPath: "listeners", message: /at least one http listener/ },
  { yaml: "listeners: {port: 8008}\n", keyPath: "listeners", message: /must be a list/ },
  { yaml: "database:\n  name: mysql\n", keyPath: "database.name", message: /must be sqlite3 or psycopg2/ },
  { yaml: "database:\n  name: psycopg2\n", keyPath: "database.args", message: /is required/ },
  { yaml: "database:\n  name: psycopg2\n  args: {user: weft}\n", keyPath: "database.args.dbname", message: /is required/ },
  { yaml: "database:\n  name: psycopg2\n  args: {dbname: weft, cp_max: 0}\n", keyPath: "database.args.cp_max", message: /at least 1/ },
  { yaml: "database:\n  name: psycopg2\n  args: {dbname: weft, port: 'x'}\n", keyPath: "database.args.port", message: /1 to 65535/ },
  { yaml: "database:\n  name: psycopg2\n  args: {url: 'mysql://h/db'}\n", keyPath: "database.args.url", message: /postgres/ },
  { yaml: "ip_range_blacklist: ['10.0.0.0/33']\n", keyPath: "ip_range_blacklist[0]", message: /CIDR/ },
  { yaml: "ip_range_blacklist: ['10.0.0.0/8', '300.1.2.3/8']\n", keyPath: "ip_range_blacklist[1]", message: /CIDR/ },
  { yaml: "ip_range_whitelist: ['fe80::/129']\n", keyPath: "ip_range_whitelist[0]", message: /CIDR/ },
  { yaml: "ip_range_whitelist: 10.0.0.0/8\n", keyPath: "ip_range_whitelist", message: /must be a list/ },
  { yaml: "default_room_version: '99'\n", keyPath: "default_room_version", message: /known stable room version/ },
  { yaml: "rc_message: {per_second: -1}\n", keyPath: "rc_message.per_second", message: /at least 0/ },
  { yaml: "rc_login:\n  account: {burst_count: -3}\n", keyPath: "rc_login.account.burst_count", message: /at least 0/ },
  { yaml: "rc_joins:\n  remote: {per_second: fast}\n", keyPath: "rc_joins.remote.per_second", message: /at least 0/ },
  { yaml: "rc_federation: {concurrent: 0}\n", keyPath: "rc_federation.concurrent", message: /at least 1/ },
  { yaml: "rc_registration: 5\n", keyPath: "rc_registration", message: /must be a mapping/ },
  { yaml: "enable_registration: 1\n", keyPath: "enable_registration", message: /must be true or false/ },
  { yaml: "allow_guest_access: 'true'\n", keyPath: "allow_guest_access", message: /must be true or false/ },
  { yaml: "enable_registration: true\n", keyPath: "enable_registration", message: /registration_requires_token/ },
  { yaml: "federation_verify_certificates: maybe\n", keyPath: "federation_verify_certificates", message: /must be true or false/ },
  { yaml: "max_upload_size: 50X\n", keyPath: "max_upload_size", message: /must be a size/ },
  { yaml: "max_request_size: -1\n", keyPath: "max_request_size", message: /must be a size/ },
  { yaml: "media_retention: {remote_media_lifetime: 14x}\n", keyPath: "media_retention.remote_media_lifetime", message: /must be a duration greater than 0/ },
  { yaml: "media_retention: {remote_media_lifetime: '1.5d'}\n", keyPath: "media_retention.remote_media_lifetime", message: /must be a duration greater than 0/ },
  { yaml: "media_retention: {local_media_lifetime: 0}\n", keyPath: "media_retention.local_media_lifetime", message: /must be a duration greater than 0/ },
  { yaml: "media_retention: {local_media_lifetime: -5}\n", keyPath: "media_retention.local_media_lifetime", message: /must be a duration greater than 0/ },
  { yaml: "media_retention: {local_media_lifetime: [90d]}\n", keyPath: "media_retention.local_media_lifetime", message: /must be a duration greater than 0/ },
  { yaml: "media_retention: 14d\n", keyPath: "media_retention", message: /must be a mapping/ },
  { yaml: "public_baseurl: 'ftp://example.org/'\n", keyPath: "public_baseurl", message: /http or https/ },
  { yaml: "public_baseurl: 'https://example.org/?a=b'\n", keyPath: "public_baseurl", message: /query/ },
  { yaml: "trusted_key_servers:\n  - server_name: matrix.org\n", keyPath: "trusted_key_servers[0].verify_keys", message: /accept_keys_insecurely/ },
  { yaml: "trusted_key_servers:\n  - server_name: 'bad name'\n    accept_keys_insecurely: true\n", keyPath: "trusted_key_servers[0].server_name", message: /not a valid server name/ },
  { yaml: "trusted_key_servers:\n  - server_name: matrix.org\n    verify_keys: {'ed25519:auto': 'abc'}\n", keyPath: "trusted_key_servers[0].verify_keys.ed25519:auto", message: /32 bytes/ },
  { yaml: "log_level: verbose\n", keyPath: "log_level", message: /must be one of/ },
  { yaml: "presence: {enabled: 3}\n", keyPath: "presence.enabled", message: /must be true or false/ },
  { yaml: "app_service_config_files: [1]\n", keyPath: "app_service_config_files[0]", message: /non-empty string/ },
  { yaml: "extra_well_known_client_content: {m.homeserver: {base_url: 'https://x'}}\n", keyPath: "extra_well_known_client_content.m.homeserver", message: /public_baseurl/ },
  { yaml: "registration_shared_secret: a\nregistration_shared_secret_path: /nonexistent\n", keyPath: "registration_shared_secret_path", message: /not both/ },
];

describe("invalid values of known keys", () => {
  for (const { yaml, keyPath, message, header } of CASES) {
    it(`${keyPath}: ${yaml.trim().split("\n").join(" | ")}`, () => {
      const text = (header ?? HEADER) + (yaml.startsWith("listeners") ? "" : LISTENER) + yaml;
      assert.throws(
        () => parseConfigText(text, "/srv/weft/homeserver.yaml"),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
          assert.equal(err.keyPath, keyPath);
          assert.ok(err.message.startsWith(`${keyPath}: `), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});
