// The queue of events that tells the lowest position among them: against a plain array, with
// positions mostly rising and now and then one told late (lower than the last), long enough for
// its arrays to be compacted.
import assert from "node:assert/strict";
import { it } from "node:test";
import { PositionQueue } from "../../../src/homeserver/appservices/position-queue.ts";

it("tells the lowest position from the front and past the first few, as a plain array does", () => {
  const queue = new PositionQueue<number>((p) => p);
  const plain: number[] = [];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let next = 0;
  for (let step = 0; step < 20_000; step++) {
    if (random(3) > 0) {
      next += 1 + random(3);
      const position = random(10) === 0 ? next - random(20) : next;
      queue.push(position);
      plain.push(position);
    } else {
      const count = random(5);
      assert.deepEqual(queue.shift(count), plain.splice(0, count));
    }
    assert.equal(queue.length, plain.length);
    assert.equal(queue.front, plain[0]);
    for (const skip of [0, 1, 3, 100]) {
      const rest = plain.slice(skip);
      assert.equal(queue.lowest(skip), rest.length === 0 ? undefined : Math.min(...rest), `step ${step}, skip ${skip}`);
    }
    assert.deepEqual(queue.peek(3), plain.slice(0, 3));
  }
});
