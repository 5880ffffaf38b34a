// `weft identity-service --config FILE`: refuses a missing or bad configuration, serves from a
// good one (making its signing key and database on first start), stops cleanly on SIGTERM, and
// finds its key and pepper again on the next start.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runWeft, startWeft } from "../cli/weft-process.ts";
import { freePort } from "../homeserver/federation/tls-homeserver.ts";

describe("the weft identity-service command", () => {
  it("refuses to start without a config or with a bad one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-is-"));
    try {
      const missing = await runWeft(["identity-service"], dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--config is required/);
      await writeFile(join(dir, "bad.yaml"), "server_name: id.test\nhttp: {port: 0}\n");
      const bad = await runWeft(["identity-service", "--config", "bad.yaml"], dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid configuration: http\.port/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serves from its config until SIGTERM, and keeps its key for the next start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-is-"));
    try {
      const port = await freePort();
      await writeFile(join(dir, "identity-service.yaml"), `server_name: id.test\nhttp: {port: ${port}}\ndatabase: data/identity.db\nsigning_key_path: data/id.key\nlog_level: info\n`);
      let service = await startWeft(["identity-service", "--config", "identity-service.yaml"], dir);
      const status = await fetch(`${service.url}/_matrix/identity/v2`);
      assert.equal(status.status, 200);
      assert.deepEqual(await status.json(), {});
      const key = (await (await fetch(`${service.url}/_matrix/identity/v2/pubkey/ed25519:0`)).json()) as { public_key: string };
      assert.equal(typeof key.public_key, "string");
      assert.match(await readFile(join(dir, "data/id.key"), "utf8"), /^ed25519 0 /);
      assert.ok((await stat(join(dir, "data/identity.db"))).isFile());
      // Without an email section, email validation is not served.
      assert.equal((await fetch(`${service.url}/_matrix/identity/v2/validate/email/requestToken`, { method: "POST", body: "{}" })).status, 404);
      assert.equal(await service.stop(), 0, "a clean exit on SIGTERM");

      service = await startWeft(["identity-service", "--config", "identity-service.yaml"], dir);
      const again = (await (await fetch(`${service.url}/_matrix/identity/v2/pubkey/ed25519:0`)).json()) as { public_key: string };
      assert.equal(again.public_key, key.public_key);
      assert.equal(await service.stop(), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
