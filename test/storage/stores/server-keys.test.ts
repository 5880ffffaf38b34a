import { it } from "node:test";
import assert from "node:assert/strict";
import { ServerKeyStore, type StoredServerKey } from "../../../src/storage/stores/server-keys.ts";
import { forEachEngine } from "../engines.ts";

function key(serverName: string, keyId: string, overrides: Partial<StoredServerKey> = {}): StoredServerKey {
  return {
    serverName,
    keyId,
    verifyKey: "VGhpcyBzaG91bGQgYmUgYSByZWFsIGVkMjU1MTkgcGF5bG9hZA",
    validUntilTs: 1_700_000_000_000,
    expiredTs: null,
    fetchedTs: 1_600_000_000_000,
    keyJson: `{"server_name":"${serverName}"}`,
    ...overrides,
  };
}

forEachEngine("ServerKeyStore", (getDb) => {
  it("stores keys by (server, key ID) and reads them back with 64-bit timestamps as numbers", async () => {
    const store = new ServerKeyStore(getDb());
    const current = key("a.example.org", "ed25519:new", { validUntilTs: 8_000_000_000_000 });
    const old = key("a.example.org", "ed25519:old", { expiredTs: 1_650_000_000_000 });
    await store.storeKeys([current, old, key("b.example.org", "ed25519:new")]);
    assert.deepEqual(await store.getKey("a.example.org", "ed25519:new"), current);
    assert.deepEqual(await store.getKey("a.example.org", "ed25519:old"), old);
    assert.equal(await store.getKey("a.example.org", "ed25519:none"), undefined);
    assert.equal(await store.getKey("c.example.org", "ed25519:new"), undefined);
    // The longest valid first.
    assert.deepEqual(await store.getKeys("a.example.org"), [current, old]);
    assert.deepEqual(await store.getKeys("nobody.example.org"), []);
  });

  it("replaces a key stored under the same (server, key ID)", async () => {
    const store = new ServerKeyStore(getDb());
    await store.storeKeys([key("r.example.org", "ed25519:k")]);
    const newer = key("r.example.org", "ed25519:k", { validUntilTs: 1_800_000_000_000, fetchedTs: 1_700_000_000_000, keyJson: "{}" });
    await store.storeKeys([newer]);
    assert.deepEqual(await store.getKey("r.example.org", "ed25519:k"), newer);
    const retired = { ...newer, expiredTs: 1_750_000_000_000 };
    await store.storeKeys([retired]);
    assert.deepEqual(await store.getKeys("r.example.org"), [retired]);
  });

  it("stores nothing for an empty list", async () => {
    await new ServerKeyStore(getDb()).storeKeys([]);
  });
});
