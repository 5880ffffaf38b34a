// What every matrix-js-sdk test here needs: the SDK quiet, its long timers unref'd, and a poll.
import assert from "node:assert/strict";
import type { ICreateClientOpts } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

// The SDK logs every request and every step; these tests read its state instead.
sdkLogger.setLevel("silent");

/** A client's own logger, silenced too. */
export const quiet = (): NonNullable<ICreateClientOpts["logger"]> => {
  const none = () => undefined;
  return { trace: none, debug: none, info: none, warn: none, error: none, getChild: quiet };
};

// matrix-js-sdk arms a timer for every request (80 s, 110 s for /sync) and never clears it
// (http-api/utils.ts timeoutSignal), nor its 6-hour capabilities refresh on stop: those would hold
// the test process open long after the clients stopped. Timers that long are unref'd here.
const setTimer = globalThis.setTimeout as (callback: () => void, ms?: number, ...args: unknown[]) => NodeJS.Timeout;
globalThis.setTimeout = ((callback: () => void, ms?: number, ...args: unknown[]) => {
  const timer = setTimer(callback, ms, ...args);
  if ((ms ?? 0) >= 60_000) timer.unref();
  return timer;
}) as typeof setTimeout;

/** Polls `probe` until it gives a value (the deadline only stops a hung test). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, deadlineMs = 90_000): Promise<T> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) assert.fail(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
