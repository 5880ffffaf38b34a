import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChangeLog } from "../../../src/homeserver/sync/change-log.ts";

describe("ChangeLog", () => {
  it("reports each key changed after a position once, by its last change", () => {
    const log = new ChangeLog();
    log.bump("a");
    log.bump("b");
    log.bump("a");
    assert.deepEqual(log.changedSince(0), ["b", "a"]);
    assert.deepEqual(log.changedSince(2), ["a"]);
    assert.deepEqual(log.changedSince(3), []);
    assert.equal(log.positionOf("b"), 2);
    assert.equal(new ChangeLog(41).bump("x"), 42);
  });

  it("agrees with scanning every key, through compactions", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 200 }), fc.nat(210), (keys, since) => {
        const log = new ChangeLog();
        const latest = new Map<string, number>();
        for (const key of keys) latest.set(key, log.bump(key));
        const expected = [...latest].filter(([, p]) => p > since).sort((x, y) => x[1] - y[1]).map(([k]) => k);
        assert.deepEqual(log.changedSince(since), expected);
        assert.equal(log.position, keys.length);
      }),
    );
  });
});
