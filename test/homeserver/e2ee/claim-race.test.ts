/**
 * keys.yaml /keys/claim: "Servers must ensure that each one-time key is returned at most once".
 * Claims racing from two processes sharing one PostgreSQL database (two database handles, so the
 * in-process ordering of claims does not help): every key goes to exactly one claim.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openDatabase, type Database } from "../../../src/storage/database.ts";
import { OneTimeKeyStore, type ClaimedKey } from "../../../src/storage/stores/one-time-keys.ts";
import { openTestDatabase, type TestDatabase } from "../../storage/engines.ts";

// PostgreSQL only: SQLite has one writer per file, and two handles in one process would wait on
// each other's lock; there the single writer is what makes a claim atomic (covered by keys.test.ts).
describe("one-time key claims racing from two processes [postgres]", () => {
  let test: TestDatabase;
  let second: Database;
  before(async () => {
    test = await openTestDatabase("postgres");
    second = await openDatabase(test.config);
  });
  after(async () => {
    await second.close();
    await test.cleanup();
  });

  it("hands each key to exactly one claim, and the fallback key to the rest", async () => {
    const stores = [new OneTimeKeyStore(test.db), new OneTimeKeyStore(second)];
    const [first] = stores as [OneTimeKeyStore, OneTimeKeyStore];
    const keys = Array.from({ length: 6 }, (_, i) => ({ algorithm: "signed_curve25519", keyId: `K${i}`, key: { key: `k${i}`, signatures: {} } }));
    await first.add("@race:hs.test", "DEV", keys);
    const claims = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (stores[i % 2] as OneTimeKeyStore).claim([{ userId: "@race:hs.test", deviceId: "DEV", algorithm: "signed_curve25519" }])),
    );
    const won = claims.flatMap((c: ClaimedKey[]) => c.map((k) => k.keyId));
    assert.deepEqual(won.sort(), ["K0", "K1", "K2", "K3", "K4", "K5"]);
    assert.deepEqual(await first.counts("@race:hs.test", "DEV"), {});

    await first.setFallbackKeys("@race:hs.test", "DEV", [{ algorithm: "signed_curve25519", keyId: "FB", key: { key: "fb", signatures: {} } }]);
    const fallbacks = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (stores[i % 2] as OneTimeKeyStore).claim([{ userId: "@race:hs.test", deviceId: "DEV", algorithm: "signed_curve25519" }])),
    );
    assert.ok(fallbacks.every((c) => c.length === 1 && c[0]?.keyId === "FB" && c[0].fallback));
  });
});
