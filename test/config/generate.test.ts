import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSigningKeyFile } from "../../src/core/crypto/ed25519.ts";
import { ConfigError, generateConfig, loadConfig } from "../../src/config/index.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-generate-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("generateConfig", () => {
  it("writes a config that loads back cleanly, with SQLite and the signing key under the data folder", async () => {
    const configPath = join(dir, "a", "homeserver.yaml");
    const dataDir = join(dir, "a", "data");
    await generateConfig({ serverName: "example.org", dataDir, configPath });

    const { config, warnings } = await loadConfig({ configPath });
    assert.deepEqual(warnings, []);
    assert.equal(config.serverName, "example.org");
    assert.deepEqual(config.database, { engine: "sqlite", path: join(dataDir, "homeserver.db") });
    assert.equal(config.mediaStorePath, join(dataDir, "media_store"));
    assert.equal(config.signingKeyPath, join(dataDir, "example.org.signing.key"));
    assert.match(config.registrationSharedSecret ?? "", /^[A-Za-z0-9_-]{40,}$/);
    assert.deepEqual(config.trustedKeyServers, []);
    assert.equal(config.listeners.length, 1);

    const keys = parseSigningKeyFile(await readFile(config.signingKeyPath, "utf8"));
    assert.equal(keys.length, 1);
    if (process.platform !== "win32") {
      assert.equal((await stat(config.signingKeyPath)).mode & 0o777, 0o600);
      assert.equal((await stat(configPath)).mode & 0o777, 0o600);
    }
    // Paths inside the config's folder are written relative to it, so the folder can move.
    assert.match(await readFile(configPath, "utf8"), /database: "\.\/data\/homeserver\.db"/);
  });

  it("writes a commented email section that loads as it says once uncommented", async () => {
    const configPath = join(dir, "m", "homeserver.yaml");
    await generateConfig({ serverName: "example.org", dataDir: join(dir, "m", "data"), configPath });
    const text = await readFile(configPath, "utf8");
    // The registrations_require_3pid line, and the email block down to the blank line after it.
    const uncommented = text
      .replace(/^#registrations_require_3pid:/m, "registrations_require_3pid:")
      .replace(/^#email:\n(#.*\n)*/m, (block) => block.replace(/^#/gm, ""));
    assert.notEqual(uncommented, text);
    await writeFile(configPath, uncommented);
    const { config, warnings } = await loadConfig({ configPath });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.registrationsRequire3pid, ["email"]);
    assert.deepEqual([config.email?.smtpHost, config.email?.smtpPort, config.email?.from], ["mail.example.org", 587, "Matrix <noreply@example.org>"]);
  });

  it("writes a commented oidc_providers section that loads as it says once uncommented", async () => {
    const configPath = join(dir, "o", "homeserver.yaml");
    await generateConfig({ serverName: "example.org", dataDir: join(dir, "o", "data"), configPath });
    const text = await readFile(configPath, "utf8");
    const uncommented = text.replace(/^#oidc_providers:\n(#.*\n)*/m, (block) => block.replace(/^#/gm, ""));
    assert.notEqual(uncommented, text);
    await writeFile(configPath, uncommented);
    const { config, warnings } = await loadConfig({ configPath });
    assert.deepEqual(warnings, []);
    const [provider] = config.sso.oidcProviders;
    assert.deepEqual([provider?.idpId, provider?.issuer, provider?.clientId, provider?.scopes], ["oidc-example", "https://sso.example.org/", "matrix", ["openid", "profile", "email"]]);
  });

  it("gives each generated config its own registration secret", async () => {
    await generateConfig({ serverName: "one.example", dataDir: join(dir, "s1"), configPath: join(dir, "s1.yaml") });
    await generateConfig({ serverName: "two.example", dataDir: join(dir, "s2"), configPath: join(dir, "s2.yaml") });
    const one = await loadConfig({ configPath: join(dir, "s1.yaml") });
    const two = await loadConfig({ configPath: join(dir, "s2.yaml") });
    assert.notEqual(one.config.registrationSharedSecret, two.config.registrationSharedSecret);
  });

  it("refuses to overwrite an existing config file", async () => {
    const configPath = join(dir, "existing.yaml");
    await writeFile(configPath, "server_name: keep.me\n");
    await assert.rejects(
      generateConfig({ serverName: "example.org", dataDir: join(dir, "existing-data"), configPath }),
      (err) => err instanceof ConfigError && /refusing to overwrite/.test(err.message),
    );
    assert.equal(await readFile(configPath, "utf8"), "server_name: keep.me\n");
  });

  it("refuses an invalid server name before writing anything", async () => {
    const configPath = join(dir, "bad.yaml");
    await assert.rejects(generateConfig({ serverName: "not a name", dataDir: join(dir, "bad"), configPath }), ConfigError);
    await assert.rejects(stat(configPath));
  });

  it("keeps an existing signing key rather than replacing the server's identity", async () => {
    const dataDir = join(dir, "keep");
    await generateConfig({ serverName: "keep.example", dataDir, configPath: join(dir, "keep1.yaml") });
    const keyPath = join(dataDir, "keep.example.signing.key");
    const before = await readFile(keyPath, "utf8");
    await generateConfig({ serverName: "keep.example", dataDir, configPath: join(dir, "keep2.yaml") });
    assert.equal(await readFile(keyPath, "utf8"), before);
  });
});
