// identity-service.yaml: a full configuration read, the defaults, and bad values refused with a
// ConfigError naming the key.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadIdentityServiceConfig, parseIdentityServiceConfig } from "../../src/identity/config.ts";

const base = "/etc/weft";

function rejects(raw: Record<string, unknown>, keyPath: string | undefined, message?: RegExp): void {
  assert.throws(
    () => parseIdentityServiceConfig({ server_name: "id.example.org", ...raw }, base),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.keyPath, keyPath, err.message);
      if (message !== undefined) assert.match(err.message, message);
      return true;
    },
  );
}

describe("identity service: configuration", () => {
  it("reads a full configuration", () => {
    const { config, warnings } = parseIdentityServiceConfig(
      {
        server_name: "id.example.org",
        public_baseurl: "https://id.example.org/",
        http: { port: 8091, bind_addresses: ["0.0.0.0"], x_forwarded: true },
        log_level: "debug",
        signing_key_path: "keys/id.key",
        database: { name: "psycopg2", args: { url: "postgres://is@db/identity" } },
        email: { smtp_host: "mail.example.org", smtp_port: 587, notif_from: "%(app)s <noreply@example.org>", app_name: "Example ID" },
        sms: { account_sid: "AC123", auth_token: "secret", from: "+15005550006", api_base_url: "http://127.0.0.1:9999/" },
        terms: { policies: { privacy_policy: { version: "1.2", en: { name: "Privacy", url: "https://example.org/p-1.2-en" }, fr: { name: "Vie privée", url: "https://example.org/p-1.2-fr" } } } },
        federation_verify_certificates: false,
        federation_custom_ca_list: ["ca.pem"],
        ip_range_whitelist: ["127.0.0.0/8"],
        validation_session_lifetime: "2h",
        web_client_location: "https://chat.example.org",
        rc_request_token: { ip: { per_second: 1, burst_count: 3 }, threepid: { per_second: 0.5, burst_count: 2 } },
      },
      base,
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.publicBaseurl, "https://id.example.org");
    assert.equal(config.port, 8091);
    assert.deepEqual(config.bindAddresses, ["0.0.0.0"]);
    assert.equal(config.xForwarded, true);
    assert.equal(config.signingKeyPath, "/etc/weft/keys/id.key");
    assert.deepEqual(config.database, { engine: "postgres", connectionString: "postgres://is@db/identity" });
    assert.equal(config.email?.from, "Example ID <noreply@example.org>");
    assert.equal(config.email?.appName, "Example ID");
    assert.deepEqual(config.sms, { accountSid: "AC123", authToken: "secret", from: "+15005550006", apiBaseUrl: "http://127.0.0.1:9999" });
    assert.equal(config.policies.get("privacy_policy")?.version, "1.2");
    assert.equal(config.policies.get("privacy_policy")?.languages.get("fr")?.url, "https://example.org/p-1.2-fr");
    assert.equal(config.federationVerifyCertificates, false);
    assert.deepEqual(config.federationCustomCaList, ["/etc/weft/ca.pem"]);
    assert.deepEqual(config.ipRangeAllowlist, ["127.0.0.0/8"]);
    assert.ok(config.ipRangeBlocklist.includes("127.0.0.0/8"), "the homeserver's default blocklist");
    assert.equal(config.validationSessionLifetimeMs, 2 * 3600 * 1000);
    assert.equal(config.webClientLocation, "https://chat.example.org");
    assert.deepEqual(config.requestTokenRateLimits, { ip: { perSecond: 1, burstCount: 3 }, threepid: { perSecond: 0.5, burstCount: 2 } });
  });

  it("has defaults for all but server_name", () => {
    const { config, warnings } = parseIdentityServiceConfig({ server_name: "id.example.org", surprise: 1 }, base);
    assert.equal(config.publicBaseurl, "https://id.example.org");
    assert.equal(config.port, 8090);
    assert.deepEqual(config.bindAddresses, ["127.0.0.1"]);
    assert.equal(config.signingKeyPath, "/etc/weft/id.example.org.signing.key");
    assert.deepEqual(config.database, { engine: "sqlite", path: "/etc/weft/identity.db" });
    assert.equal(config.email, undefined);
    assert.equal(config.sms, undefined);
    assert.equal(config.policies.size, 0);
    assert.equal(config.validationSessionLifetimeMs, 24 * 3600 * 1000, "the spec's 24 hours");
    assert.equal(config.federationVerifyCertificates, true);
    assert.equal(config.tls, undefined, "plain HTTP, for a reverse proxy in front");
    assert.deepEqual(warnings, ["unknown or not yet supported config key surprise: ignored"]);
  });

  it("serves HTTPS with a certificate and key, their paths against the file's folder", () => {
    const { config } = parseIdentityServiceConfig({ server_name: "i.org", http: { tls_certificate_path: "tls/id.crt", tls_private_key_path: "/keys/id.key" } }, base);
    assert.deepEqual(config.tls, { certificatePath: "/etc/weft/tls/id.crt", privateKeyPath: "/keys/id.key" });
  });

  it("takes the database as a path or a postgres URL", () => {
    assert.deepEqual(parseIdentityServiceConfig({ server_name: "i.org", database: "data/is.db" }, base).config.database, { engine: "sqlite", path: "/etc/weft/data/is.db" });
    assert.deepEqual(parseIdentityServiceConfig({ server_name: "i.org", database: "postgresql://u@h/d" }, base).config.database, { engine: "postgres", connectionString: "postgresql://u@h/d" });
  });

  it("refuses bad values, naming the key", () => {
    assert.throws(() => parseIdentityServiceConfig({}, base), (err: unknown) => err instanceof ConfigError && err.keyPath === "server_name");
    rejects({ server_name: "not a name!" }, "server_name");
    rejects({ public_baseurl: "ftp://x" }, "public_baseurl");
    rejects({ http: { port: 70000 } }, "http.port");
    rejects({ http: { bind_addresses: ["localhost"] } }, "http.bind_addresses[0]");
    rejects({ http: { tls_certificate_path: "id.crt" } }, "http.tls_private_key_path");
    rejects({ http: { tls_private_key_path: "id.key" } }, "http.tls_certificate_path");
    rejects({ log_level: "loud" }, "log_level");
    rejects({ database: { name: "mysql" } }, "database.name");
    rejects({ database: 42 }, "database");
    rejects({ email: { smtp_host: "h", notif_from: "a@b.org", smtp_port: "x" } }, "email.smtp_port");
    rejects({ sms: { auth_token: "t", from: "+15005550006" } }, "sms.account_sid");
    rejects({ sms: { account_sid: "AC", auth_token: "t" } }, "sms.from");
    rejects({ sms: { account_sid: "AC", auth_token: "t", from: "+1" } }, "sms.from");
    rejects({ terms: {} }, "terms.policies");
    rejects({ terms: { policies: { p: { en: { name: "n", url: "u" } } } } }, "terms.policies.p.version");
    rejects({ terms: { policies: { p: { version: "1", en: { name: "n" } } } } }, "terms.policies.p.en.url");
    rejects({ terms: { policies: { p: { version: "1" } } } }, "terms.policies.p");
    rejects({ validation_session_lifetime: "soon" }, "validation_session_lifetime");
    rejects({ ip_range_blacklist: ["nope"] }, "ip_range_blacklist[0]");
    rejects({ rc_request_token: { ip: { per_second: -1 } } }, "rc_request_token.ip.per_second");
    rejects({ web_client_location: "nowhere" }, "web_client_location");
  });

  it("reads the README's example as it says", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Running the identity service"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(example !== undefined, "the README has the example");
    const dir = await mkdtemp(join(tmpdir(), "weft-is-readme-"));
    try {
      await writeFile(join(dir, "identity-service.yaml"), example);
      const { config, warnings } = await loadIdentityServiceConfig("identity-service.yaml", dir);
      assert.deepEqual(warnings, []);
      assert.deepEqual([config.serverName, config.port, config.bindAddresses, config.tls], ["id.example.org", 8090, ["127.0.0.1"], undefined]);
      assert.deepEqual([config.email?.smtpHost, config.sms?.from, [...config.policies.keys()]], ["mail.example.org", "+15005550006", ["privacy_policy"]]);
      assert.deepEqual(config.database, { engine: "sqlite", path: join(dir, "identity.db") });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads a YAML file, relative paths against its folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-is-config-"));
    try {
      await writeFile(join(dir, "identity-service.yaml"), "server_name: id.test\nsigning_key_path: id.key\n");
      const { config } = await loadIdentityServiceConfig("identity-service.yaml", dir);
      assert.equal(config.signingKeyPath, join(dir, "id.key"));
      await writeFile(join(dir, "bad.yaml"), "server_name: [unclosed\n");
      await assert.rejects(loadIdentityServiceConfig("bad.yaml", dir), ConfigError);
      await assert.rejects(loadIdentityServiceConfig("missing.yaml", dir), /cannot read config file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
