import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../homeserver/federation/tls-homeserver.ts";
import { runWeft, startWeft } from "./weft-process.ts";

describe("the weft command", () => {
  it("prints its version and help", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const version = await runWeft(["--version"], tmpdir());
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), `weft ${pkg.version}`);
    const help = await runWeft(["--help"], tmpdir());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /generate-config/);
    const unknown = await runWeft(["frobnicate"], tmpdir());
    assert.equal(unknown.code, 2);
  });

  it("refuses an invalid config with a message naming the key, and exit code 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
    try {
      await writeFile(join(dir, "homeserver.yaml"), "server_name: example.org\nlisteners:\n  - port: 99999\n    type: http\n    resources: [{names: [client]}]\n");
      const r = await runWeft(["start", "--config", "homeserver.yaml"], dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /listeners\[0\]\.port/);
      const missing = await runWeft(["start", "--config", "nope.yaml"], dir);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /nope\.yaml/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("generates a config, starts with it, registers a user through the shared secret, and stops on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
    try {
      const gen = await runWeft(["generate-config", "--server-name", "cli.test", "--data-dir", "data"], dir);
      assert.equal(gen.code, 0, gen.stderr);
      // Pick a free port for this run: the generated config listens on 8008.
      const yamlPath = join(dir, "homeserver.yaml");
      const port = 20000 + Math.floor(Math.random() * 20000);
      const yaml = (await readFile(yamlPath, "utf8")).replace(/port: 8008/g, `port: ${port}`).replace(/bind_addresses:.*\n/g, "bind_addresses: ['127.0.0.1']\n");
      await writeFile(yamlPath, yaml);
      assert.ok(yaml.includes(`port: ${port}`));
      const again = await runWeft(["generate-config", "--server-name", "cli.test"], dir);
      assert.equal(again.code, 1, "generate-config never overwrites a config");

      const server = await startWeft(["start", "--config", "homeserver.yaml"], dir);
      try {
        const versions = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
        assert.equal(versions.status, 200);
        const reg = await runWeft(["register-user", "--config", "homeserver.yaml", "-u", "admin", "-p", "secret-pw", "-a", `http://127.0.0.1:${port}`], dir);
        assert.equal(reg.code, 0, reg.stderr);
        assert.match(reg.stdout, /@admin:cli\.test/);
      } finally {
        assert.equal(await server.stop(), 0, "a clean exit on SIGTERM");
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("runs the push gateway from its config until SIGTERM, and refuses one it cannot run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-pg-"));
    try {
      const missing = await runWeft(["push-gateway"], dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--config is required/);

      const port = await freePort();
      const app = "apps:\n  org.example.web:\n    type: webpush\n    vapid_private_key: vapid.pem\n    vapid_contact_email: admin@example.org\n";
      await writeFile(join(dir, "push-gateway.yaml"), `http:\n  port: ${port}\nlog_level: info\n${app}`);
      const noKey = await runWeft(["push-gateway", "--config", "push-gateway.yaml"], dir);
      assert.equal(noKey.code, 1);
      assert.match(noKey.stderr, /apps\.org\.example\.web: .*vapid\.pem/);
      await writeFile(join(dir, "bad.yaml"), "apps:\n  a:\n    type: carrier-pigeon\n");
      const bad = await runWeft(["push-gateway", "--config", "bad.yaml"], dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid configuration: apps\.a\.type/);

      await writeFile(join(dir, "vapid.pem"), generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "sec1" }));
      const gateway = await startWeft(["push-gateway", "--config", "push-gateway.yaml"], dir);
      const reply = await fetch(`${gateway.url}/_matrix/push/v1/notify`, {
        method: "POST",
        body: JSON.stringify({ notification: { event_id: "$e", devices: [{ app_id: "org.unknown", pushkey: "k" }] } }),
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(await reply.json(), { rejected: ["k"] });
      assert.equal(await gateway.stop(), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
