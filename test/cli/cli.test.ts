import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const weft = fileURLToPath(new URL("../../bin/weft.mjs", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [weft, ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** Starts `weft start`, waits until it listens, and returns its URL and a stop function. */
async function startServer(args: string[], cwd: string): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [weft, "start", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = /listening on (http:\/\/[^"\s]+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code) => reject(new Error(`weft start exited with ${code}: ${output}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners("exit");
        child.on("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}

describe("the weft command", () => {
  it("prints its version and help", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const version = await run(["--version"], tmpdir());
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), `weft ${pkg.version}`);
    const help = await run(["--help"], tmpdir());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /generate-config/);
    const unknown = await run(["frobnicate"], tmpdir());
    assert.equal(unknown.code, 2);
  });

  it("refuses an invalid config with a message naming the key, and exit code 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
    try {
      await writeFile(join(dir, "homeserver.yaml"), "server_name: example.org\nlisteners:\n  - port: 99999\n    type: http\n    resources: [{names: [client]}]\n");
      const r = await run(["start", "--config", "homeserver.yaml"], dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /listeners\[0\]\.port/);
      const missing = await run(["start", "--config", "nope.yaml"], dir);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /nope\.yaml/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("generates a config, starts with it, registers a user through the shared secret, and stops on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
    try {
      const gen = await run(["generate-config", "--server-name", "cli.test", "--data-dir", "data"], dir);
      assert.equal(gen.code, 0, gen.stderr);
      // Pick a free port for this run: the generated config listens on 8008.
      const yamlPath = join(dir, "homeserver.yaml");
      const port = 20000 + Math.floor(Math.random() * 20000);
      const yaml = (await readFile(yamlPath, "utf8")).replace(/port: 8008/g, `port: ${port}`).replace(/bind_addresses:.*\n/g, "bind_addresses: ['127.0.0.1']\n");
      await writeFile(yamlPath, yaml);
      assert.ok(yaml.includes(`port: ${port}`));
      const again = await run(["generate-config", "--server-name", "cli.test"], dir);
      assert.equal(again.code, 1, "generate-config never overwrites a config");

      const server = await startServer(["--config", "homeserver.yaml"], dir);
      try {
        const versions = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
        assert.equal(versions.status, 200);
        const reg = await run(["register-user", "--config", "homeserver.yaml", "-u", "admin", "-p", "secret-pw", "-a", `http://127.0.0.1:${port}`], dir);
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
      const missing = await run(["push-gateway"], dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--config is required/);

      const port = await freePort();
      const app = "apps:\n  org.example.web:\n    type: webpush\n    vapid_private_key: vapid.pem\n    vapid_contact_email: admin@example.org\n";
      await writeFile(join(dir, "push-gateway.yaml"), `http:\n  port: ${port}\nlog_level: info\n${app}`);
      const noKey = await run(["push-gateway", "--config", "push-gateway.yaml"], dir);
      assert.equal(noKey.code, 1);
      assert.match(noKey.stderr, /apps\.org\.example\.web: .*vapid\.pem/);
      await writeFile(join(dir, "bad.yaml"), "apps:\n  a:\n    type: carrier-pigeon\n");
      const bad = await run(["push-gateway", "--config", "bad.yaml"], dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid configuration: apps\.a\.type/);

      await writeFile(join(dir, "vapid.pem"), generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "sec1" }));
      const child = spawn(process.execPath, [weft, "push-gateway", "--config", "push-gateway.yaml"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          output += d.toString();
          const match = /listening on (http:\/\/[^"\s]+)/.exec(output);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.on("exit", (code) => reject(new Error(`weft push-gateway exited with ${code}: ${output}`)));
      });
      const reply = await fetch(`${url}/_matrix/push/v1/notify`, {
        method: "POST",
        body: JSON.stringify({ notification: { event_id: "$e", devices: [{ app_id: "org.unknown", pushkey: "k" }] } }),
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(await reply.json(), { rejected: ["k"] });
      child.removeAllListeners("exit");
      const code = await new Promise<number | null>((resolve) => {
        child.on("exit", resolve);
        child.kill("SIGTERM");
      });
      assert.equal(code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
