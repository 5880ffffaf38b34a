// BackgroundQueue: work handed off a hot path, done later in order, bounded, never failing the caller.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackgroundQueue } from "../../src/homeserver/background-queue.ts";

describe("BackgroundQueue", () => {
  it("works through items in order, later, and goes on past an item that fails", async () => {
    const done: number[] = [];
    const errors: unknown[] = [];
    const queue = new BackgroundQueue<number>({
      max: 100,
      batch: 2,
      work: async (n) => {
        if (n === 3) throw new Error("three");
        done.push(n);
      },
      onError: (e) => errors.push(e),
    });
    for (let n = 1; n <= 5; n++) queue.push(n);
    assert.deepEqual(done, [], "nothing is done while the caller runs");
    await queue.idle();
    assert.deepEqual(done, [1, 2, 4, 5]);
    assert.equal(errors.length, 1);
  });

  it("drops the oldest items past its bound and says how many", async () => {
    const done: number[] = [];
    const dropped: number[] = [];
    const queue = new BackgroundQueue<number>({ max: 3, batch: 10, work: async (n) => void done.push(n), onError: () => undefined, onDropped: (c) => dropped.push(c) });
    for (let n = 1; n <= 5; n++) queue.push(n);
    await queue.idle();
    assert.deepEqual(done, [3, 4, 5]);
    assert.deepEqual(dropped, [2]);
  });

  it("drops what waits when closed, and takes nothing after", async () => {
    const done: number[] = [];
    const queue = new BackgroundQueue<number>({ max: 10, batch: 10, work: async (n) => void done.push(n), onError: () => undefined });
    queue.push(1);
    await queue.close();
    queue.push(2);
    await queue.idle();
    assert.deepEqual(done, []);
  });
});
