// CoveringRun: every call is covered by a run that starts after it, and calls made during a run
// share the one run that follows it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { CoveringRun } from "../../src/core/covering-run.ts";

/** A task whose runs end when the test says, recording when each started. */
function controlled(): { run: CoveringRun; starts: number[]; finish: (err?: Error) => void; clock: { now: number } } {
  const clock = { now: 0 };
  const starts: number[] = [];
  const ends: Array<(err?: Error) => void> = [];
  const run = new CoveringRun(
    () =>
      new Promise<void>((resolve, reject) => {
        starts.push(clock.now);
        ends.push((err) => (err === undefined ? resolve() : reject(err)));
      }),
  );
  return { run, starts, clock, finish: (err) => ends.shift()?.(err) };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

it("starts at once when idle, and gives the calls made during a run the one run that follows it", async () => {
  const { run, starts, finish, clock } = controlled();
  const first = run.run();
  assert.deepEqual(starts, [0]);
  clock.now = 1;
  const second = run.run();
  const third = run.run();
  assert.equal(second, third);
  assert.notEqual(first, second);
  assert.deepEqual(starts, [0], "the next run waits for the one going");
  finish();
  await first;
  await turn();
  assert.deepEqual(starts, [0, 1], "then starts, after the calls it covers");
  finish();
  await second;
  await turn();
  const fourth = run.run();
  assert.deepEqual(starts, [0, 1, 1]);
  finish();
  await fourth;
});

it("rejects the callers of a failed run, starts the next one all the same, and settles whatever the outcome", async () => {
  const { run, starts, finish } = controlled();
  const failing = run.run();
  const next = run.run();
  const settled = run.settled();
  finish(new Error("disk"));
  await assert.rejects(failing, /disk/);
  await turn();
  assert.equal(starts.length, 2);
  finish();
  await next;
  await settled;
});

it("covers every call with a run that starts after it, however calls and ends interleave", async () => {
  const { run, starts, finish, clock } = controlled();
  /** The start times of the runs ended, in order. */
  const ended: number[] = [];
  const end = () => {
    if (starts.length > ended.length) ended.push(starts[ended.length] as number);
    finish();
  };
  const covered: Array<{ at: number; by: number | undefined }> = [];
  // A fixed pseudo-random interleaving of calls and run ends.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3;
  const calls: Array<Promise<void>> = [];
  for (let step = 0; step < 300; step++) {
    clock.now = step;
    if (next() === 0) end();
    else {
      const at = step;
      calls.push(run.run().then(() => void covered.push({ at, by: ended.at(-1) })));
    }
    await turn();
  }
  while (ended.length < starts.length) {
    end();
    await turn();
  }
  await Promise.all(calls);
  assert.ok(covered.length > 100);
  // The run that resolved a call started at or after it.
  for (const c of covered) assert.ok(c.by !== undefined && c.by >= c.at, `the call at ${c.at} was covered by a run started at ${c.by}`);
  assert.ok(starts.length < covered.length, "calls share runs");
});
