// KeyedSerial: tasks of one key one after another in order, whatever became of the one before;
// tasks of different keys side by side.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { KeyedSerial } from "../../src/core/keyed-serial.ts";

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("KeyedSerial", () => {
  it("never runs two tasks of a key at once, runs them in order, and goes on after a failure (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.boolean(), fc.nat(3)), { maxLength: 20 }), async (tasks) => {
        const serial = new KeyedSerial();
        const running = new Map<string, number>();
        const order = new Map<string, number[]>();
        let overlapped = false;
        await Promise.allSettled(
          tasks.map(([key, fails, waits], i) =>
            serial.run(key, async () => {
              running.set(key, (running.get(key) ?? 0) + 1);
              if ((running.get(key) ?? 0) > 1) overlapped = true;
              order.set(key, [...(order.get(key) ?? []), i]);
              for (let n = 0; n < waits; n++) await tick();
              running.set(key, (running.get(key) ?? 0) - 1);
              if (fails) throw new Error(`task ${i}`);
              return i;
            }),
          ),
        );
        assert.equal(overlapped, false);
        for (const [key, seen] of order) {
          assert.deepEqual(seen, tasks.flatMap(([k], i) => (k === key ? [i] : [])));
        }
      }),
      { numRuns: 50 },
    );
  });

  it("answers each task's own result or failure, and runs other keys meanwhile", async () => {
    const serial = new KeyedSerial();
    let release: () => void = () => undefined;
    const blocked = serial.run("a", () => new Promise<string>((resolve) => (release = () => resolve("first"))));
    const other = await serial.run("b", async () => "other key");
    assert.equal(other, "other key", "b did not wait for a");
    const failing = serial.run("a", async () => {
      throw new Error("second fails");
    });
    const third = serial.run("a", async () => "third");
    release();
    assert.equal(await blocked, "first");
    await assert.rejects(failing, /second fails/);
    assert.equal(await third, "third");
  });
});
