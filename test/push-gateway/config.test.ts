// push-gateway.yaml in Sygnal's shape: what is read, the defaults, and the errors an admin is told.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadPushGatewayConfig, parsePushGatewayConfig } from "../../src/push-gateway/config.ts";

const apns = { type: "apns", keyfile: "AuthKey.p8", key_id: "KEY", team_id: "TEAM", topic: "com.example.app" };

function refusal(raw: unknown, pattern: RegExp): void {
  assert.throws(() => parsePushGatewayConfig(raw, "/etc/weft"), (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
}

describe("push-gateway.yaml", () => {
  it("reads Sygnal's configuration of the three kinds of app, with file paths against the file's folder", () => {
    const { config, warnings } = parsePushGatewayConfig(
      {
        http: { port: 5001, bind_addresses: ["0.0.0.0"] },
        log: { setup: {} },
        apps: {
          "com.example.app.ios": { ...apns, platform: "sandbox" },
          "com.example.app.android": { type: "gcm", api_version: "v1", project_id: "p", service_account_file: "/keys/sa.json" },
          "com.example.*": { type: "webpush", vapid_private_key: "vapid.pem", vapid_contact_email: "admin@example.com" },
        },
      },
      "/etc/weft",
    );
    assert.equal(config.port, 5001);
    assert.deepEqual(config.bindAddresses, ["0.0.0.0"]);
    assert.equal(config.logLevel, "info");
    assert.deepEqual(config.apps.get("com.example.app.ios"), {
      type: "apns",
      keyFile: "/etc/weft/AuthKey.p8",
      keyId: "KEY",
      teamId: "TEAM",
      topic: "com.example.app",
      platform: "sandbox",
      apiUrl: undefined,
    });
    assert.deepEqual(config.apps.get("com.example.app.android"), { type: "gcm", projectId: "p", serviceAccountFile: "/keys/sa.json", apiUrl: undefined });
    assert.deepEqual(config.apps.get("com.example.*"), { type: "webpush", vapidPrivateKey: "/etc/weft/vapid.pem", vapidContactEmail: "admin@example.com", ttl: 900 });
    assert.deepEqual([...config.apps.keys()], ["com.example.app.ios", "com.example.app.android", "com.example.*"]);
    assert.ok(warnings.some((w) => w.includes("log")), "Sygnal's logging section is said to be ignored");
  });

  it("listens on 127.0.0.1:5000 (Sygnal's port) unless told, and warns of keys it does not know", () => {
    const { config, warnings } = parsePushGatewayConfig({ apps: { a: apns }, surprise: 1 }, "/");
    assert.equal(config.port, 5000);
    assert.deepEqual(config.bindAddresses, ["127.0.0.1"]);
    assert.ok(warnings.some((w) => w.includes("surprise")));
  });

  it("refuses what it cannot run, saying where", () => {
    refusal({}, /^apps: is required/);
    refusal({ apps: {} }, /^apps: must name at least one app/);
    refusal({ apps: { a: { type: "mqtt" } } }, /^apps\.a\.type: must be apns, gcm or webpush/);
    refusal({ apps: { a: { ...apns, keyfile: undefined } } }, /^apps\.a\.keyfile: is required/);
    refusal({ apps: { a: { type: "apns", certfile: "cert.pem" } } }, /^apps\.a\.certfile: certificate-based/);
    refusal({ apps: { a: { ...apns, platform: "beta" } } }, /^apps\.a\.platform: must be production or sandbox/);
    refusal({ apps: { a: { type: "gcm", api_key: "legacy" } } }, /^apps\.a\.api_key: is the legacy/);
    refusal({ apps: { a: { type: "gcm", api_version: "v0", service_account_file: "x" } } }, /^apps\.a\.api_version: only v1/);
    refusal({ apps: { a: { type: "webpush", vapid_private_key: "k.pem" } } }, /^apps\.a\.vapid_contact_email: is required/);
    refusal({ http: { port: 70000 }, apps: { a: apns } }, /^http\.port: must be an integer from 1 to 65535/);
    refusal({ http: { bind_addresses: ["localhost"] }, apps: { a: apns } }, /^http\.bind_addresses\[0\]: must be an IP address/);
    refusal({ log_level: "loud", apps: { a: apns } }, /^log_level: must be one of/);
    refusal("apps", /must be a mapping/);
  });

  it("reads the README's example as it says", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Running the push gateway"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(example !== undefined, "the README has the example");
    const dir = await mkdtemp(join(tmpdir(), "weft-pgconf-"));
    try {
      await writeFile(join(dir, "push-gateway.yaml"), example);
      const { config, warnings } = await loadPushGatewayConfig("push-gateway.yaml", dir);
      assert.deepEqual(warnings, []);
      assert.deepEqual([config.port, config.bindAddresses], [5000, ["127.0.0.1"]]);
      assert.deepEqual([...config.apps].map(([id, app]) => [id, app.type]), [
        ["com.example.app.ios", "apns"],
        ["com.example.app.android", "gcm"],
        ["org.example.web.*", "webpush"],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads a file, and says when it cannot be read or is not YAML", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-pgconf-"));
    try {
      await writeFile(join(dir, "push-gateway.yaml"), "apps:\n  com.example.app:\n    type: webpush\n    vapid_private_key: vapid.pem\n    vapid_contact_email: a@b.c\n");
      const { config } = await loadPushGatewayConfig("push-gateway.yaml", dir);
      assert.equal(config.apps.get("com.example.app")?.type, "webpush");
      await writeFile(join(dir, "bad.yaml"), "apps: [unclosed\n");
      await assert.rejects(loadPushGatewayConfig("bad.yaml", dir), /is not valid YAML/);
      await assert.rejects(loadPushGatewayConfig("missing.yaml", dir), /cannot read config file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
