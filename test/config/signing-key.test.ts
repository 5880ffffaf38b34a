import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadOrCreateSigningKey } from "../../src/config/index.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-signing-key-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadOrCreateSigningKey", () => {
  it("creates the file and its folder once, then reads the same key back", async () => {
    const path = join(dir, "nested", "folder", "hs.signing.key");
    const [created, ...rest] = await loadOrCreateSigningKey(path);
    assert.ok(created);
    assert.equal(rest.length, 0);
    assert.match(created.keyId, /^ed25519:a_[A-Za-z0-9]{4}$/);
    const text = await readFile(path, "utf8");
    if (process.platform !== "win32") assert.equal((await stat(path)).mode & 0o777, 0o600);

    const [again] = await loadOrCreateSigningKey(path);
    assert.ok(again);
    assert.equal(again.keyId, created.keyId);
    assert.deepEqual(again.seed, created.seed);
    assert.equal(again.publicKeyBase64, created.publicKeyBase64);
    assert.equal(await readFile(path, "utf8"), text);
  });

  it("reads a Synapse signing.key with several keys, in file order", async () => {
    const path = join(dir, "synapse.signing.key");
    const seed = Buffer.alloc(32, 7).toString("base64").replace(/=+$/, "");
    await writeFile(path, `ed25519 a_new ${seed}\ned25519 a_old ${seed}\n`);
    const keys = await loadOrCreateSigningKey(path);
    assert.deepEqual(keys.map((k) => k.keyId), ["ed25519:a_new", "ed25519:a_old"]);
  });

  it("reports a malformed or empty key file as a ConfigError on signing_key_path", async () => {
    const bad = join(dir, "bad.key");
    await writeFile(bad, "rsa 1 xyz\n");
    await assert.rejects(loadOrCreateSigningKey(bad), (err) => err instanceof ConfigError && err.keyPath === "signing_key_path");
    const empty = join(dir, "empty.key");
    await writeFile(empty, "\n");
    await assert.rejects(loadOrCreateSigningKey(empty), (err) => err instanceof ConfigError && /holds no signing key/.test(err.message));
  });
});
