import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccessTokenCache, type CachedToken } from "../../../src/homeserver/devices/token-cache.ts";

function entry(userId: string, deviceId: string | undefined, tokenId: number): CachedToken {
  return { requester: { userId, deviceId, isGuest: false, accessTokenId: tokenId }, tokenId, expiresTs: null };
}

describe("AccessTokenCache", () => {
  it("keeps the most recently used entries within its bound", () => {
    const cache = new AccessTokenCache(2);
    cache.set("a", entry("@a:hs", "A", 1), cache.epoch);
    cache.set("b", entry("@b:hs", "B", 2), cache.epoch);
    assert.ok(cache.get("a") !== undefined); // a is now the most recent
    cache.set("c", entry("@c:hs", "C", 3), cache.epoch);
    assert.equal(cache.size, 2);
    assert.equal(cache.get("b"), undefined, "the least recently used went");
    assert.ok(cache.get("a") !== undefined && cache.get("c") !== undefined);
  });

  it("invalidates by user, by device and by token", () => {
    const cache = new AccessTokenCache();
    cache.set("a1", entry("@a:hs", "A1", 1), cache.epoch);
    cache.set("a2", entry("@a:hs", "A2", 2), cache.epoch);
    cache.set("b1", entry("@b:hs", "B1", 3), cache.epoch);
    cache.set("b2", entry("@b:hs", undefined, 4), cache.epoch);
    cache.invalidateDevices("@a:hs", ["A1"]);
    assert.deepEqual(["a1", "a2"].map((h) => cache.get(h) !== undefined), [false, true]);
    cache.invalidateTokens([4]);
    assert.equal(cache.get("b2"), undefined);
    cache.invalidateUser("@b:hs");
    assert.equal(cache.get("b1"), undefined);
    assert.ok(cache.get("a2") !== undefined);
  });

  it("does not store what was read before a revocation", () => {
    const cache = new AccessTokenCache();
    const epoch = cache.epoch; // a lookup starts reading the database...
    cache.invalidateDevices("@a:hs", ["A"]); // ...the device is deleted meanwhile...
    cache.set("a", entry("@a:hs", "A", 1), epoch); // ...and its stale answer arrives.
    assert.equal(cache.get("a"), undefined);
    cache.set("a", entry("@a:hs", "A", 1), cache.epoch);
    assert.ok(cache.get("a") !== undefined);
  });
});
