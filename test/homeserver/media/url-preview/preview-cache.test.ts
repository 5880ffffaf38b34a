// The in-memory preview cache: shared fetches, expiry, bounds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PreviewCache } from "../../../../src/homeserver/media/url-preview/preview-cache.ts";

describe("PreviewCache", () => {
  it("runs one computation for concurrent requests of a key, and keeps its result", async () => {
    let now = 0;
    const cache = new PreviewCache<number>({ ttlMs: 1000, failureTtlMs: 100, maxEntries: 10, now: () => now });
    let runs = 0;
    const compute = async (): Promise<number> => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return runs;
    };
    const [a, b] = await Promise.all([cache.get("k", compute), cache.get("k", compute)]);
    assert.deepEqual([a, b, runs], [1, 1, 1]);
    now = 999;
    assert.equal(await cache.get("k", compute), 1);
    now = 2000;
    assert.equal(await cache.get("k", compute), 2);
  });

  it("keeps a failure for less time", async () => {
    let now = 0;
    const cache = new PreviewCache<number>({ ttlMs: 1000, failureTtlMs: 100, maxEntries: 10, now: () => now });
    let runs = 0;
    const failing = (): Promise<number> => {
      runs++;
      return Promise.reject(new Error("down"));
    };
    await assert.rejects(cache.get("k", failing));
    await assert.rejects(cache.get("k", failing));
    assert.equal(runs, 1);
    now = 150;
    await assert.rejects(cache.get("k", failing));
    assert.equal(runs, 2);
  });

  it("holds at most maxEntries, dropping the least recently used", async () => {
    const cache = new PreviewCache<string>({ ttlMs: 1000, failureTtlMs: 100, maxEntries: 2 });
    await cache.get("a", async () => "a");
    await cache.get("b", async () => "b");
    await cache.get("a", async () => "again"); // a is now the most recent
    await cache.get("c", async () => "c");
    assert.equal(cache.size, 2);
    assert.equal(await cache.get("a", async () => "new a"), "a");
    assert.equal(await cache.get("b", async () => "new b"), "new b");
  });
});
