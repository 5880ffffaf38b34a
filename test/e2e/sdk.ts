// What every matrix-js-sdk test here needs: the SDK quiet, its long timers unref'd, and a poll; and
// for the end-to-end encryption tests, a client started with Rust crypto and what it decrypted.
import assert from "node:assert/strict";
import { LoggerLevel, Tracing } from "@matrix-org/matrix-sdk-crypto-wasm";
import { ClientEvent, SyncState, type ICreateClientOpts, type MatrixClient } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

// The SDK logs every request and every step; these tests read its state instead.
sdkLogger.setLevel("silent");

/** A client's own logger, silenced too. */
export const quiet = (): NonNullable<ICreateClientOpts["logger"]> => {
  const none = () => undefined;
  return { trace: none, debug: none, info: none, warn: none, error: none, getChild: quiet };
};

// matrix-js-sdk arms a timer for every request (80 s, 110 s for /sync, 50 s for the peeking /events) and never clears it
// (http-api/utils.ts timeoutSignal), nor its 6-hour capabilities refresh on stop: those would hold
// the test process open long after the clients stopped. Timers that long are unref'd here.
const setTimer = globalThis.setTimeout as (callback: () => void, ms?: number, ...args: unknown[]) => NodeJS.Timeout;
globalThis.setTimeout = ((callback: () => void, ms?: number, ...args: unknown[]) => {
  const timer = setTimer(callback, ms, ...args);
  if ((ms ?? 0) >= 45_000) timer.unref();
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

/** Starts `client` with Rust crypto in memory; resolves once its first sync is in. */
export async function startWithCrypto(client: MatrixClient): Promise<void> {
  await client.initRustCrypto({ useIndexedDB: false });
  new Tracing(LoggerLevel.Error).turnOff(); // initRustCrypto turns it on at the debug level
  const prepared = new Promise<void>((resolve) => {
    const onSync = (state: SyncState): void => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 20 });
  await prepared;
}

/** The bodies of the messages in the room's live timeline that the client could decrypt. */
export function decryptedBodies(client: MatrixClient, roomId: string): string[] {
  const room = client.getRoom(roomId);
  if (room === null) return [];
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType() === "m.room.message" && !e.isDecryptionFailure())
    .map((e) => e.getContent()["body"] as string);
}
