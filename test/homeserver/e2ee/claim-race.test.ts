/**
 * keys.yaml /keys/claim: "Servers must ensure that each one-time key is returned at most once".
 * On both engines: any sequence of uploads and rounds of concurrent claims hands out the keys in
 * upload order, each once. And claims racing from two processes sharing one PostgreSQL database
 * (two database handles, so the in-process ordering of claims does not help): every key goes to
 * exactly one claim.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { openDatabase, type Database } from "../../../src/storage/database.ts";
import { OneTimeKeyStore, type ClaimedKey } from "../../../src/storage/stores/one-time-keys.ts";
import { forEachEngine, openTestDatabase, type TestDatabase } from "../../storage/engines.ts";

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

forEachEngine("OneTimeKeyStore claims", (getDb) => {
  it("hands keys out in upload order, each at most once, whatever the uploads and concurrent claims", async () => {
    const store = new OneTimeKeyStore(getDb());
    let run = 0;
    const step = fc.oneof(fc.record({ upload: fc.integer({ min: 1, max: 5 }) }), fc.record({ claims: fc.integer({ min: 1, max: 6 }) }));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const deviceId = `PROP${run++}`;
        const request = { userId: "@prop:hs.test", deviceId, algorithm: "signed_curve25519" };
        const queue: string[] = [];
        let uploaded = 0;
        for (const s of steps) {
          if ("upload" in s) {
            const keys = Array.from({ length: s.upload }, () => `K${uploaded++}`);
            await store.add(request.userId, deviceId, keys.map((keyId) => ({ algorithm: "signed_curve25519", keyId, key: { key: keyId, signatures: {} } })));
            queue.push(...keys);
            continue;
          }
          const results = await Promise.all(Array.from({ length: s.claims }, () => store.claim([request])));
          const got = results.flatMap((r) => r.map((k) => k.keyId));
          // Concurrent claims are answered in the order they were made: the oldest keys, in order.
          assert.deepEqual(got, queue.splice(0, s.claims));
        }
        assert.equal((await store.counts(request.userId, deviceId))["signed_curve25519"] ?? 0, queue.length);
      }),
      { numRuns: 25 },
    );
  });
});
