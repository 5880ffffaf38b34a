// WAL checkpoints on a thread of their own (sqlite.org/wal.html "Application-Initiated Checkpoints":
// automatic checkpoints can be turned off and run "in a separate thread or process").
//
// SQLite's automatic checkpoint runs inside the commit that crosses the threshold, so one request in
// every few hundred waits for a whole checkpoint (copying the WAL into the database file and syncing
// it) on the event loop. A large threshold makes those rarer but lets the WAL file grow: every commit
// then appends new blocks to it, and syncing an appended file costs the filesystem a journal commit
// for its new size and blocks (measured here: a commit of 16 pages 0.4 ms in a WAL that is reused,
// 0.8-1.4 ms in one that grows, when the machine is busy).
//
// So a worker thread with its own connection runs PASSIVE checkpoints a short while after commits:
// it never blocks the writer or the readers, and copies most of the WAL back off the event loop. The
// writer keeps SQLite's own threshold (sqlite.ts) as a bound: under a steady stream of commits the
// worker never finds the WAL wholly copied (new frames keep coming), so the commit crossing the
// threshold checkpoints the little that is left, and the next one starts the WAL over from its
// beginning, rewriting blocks the file already has. Durability is unchanged: a commit is synced in
// the WAL before it is acknowledged, whoever checkpoints it later.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { sqliteDriverPackage } from "./sqlite-driver.ts";

/** How long the worker lets commits gather before a checkpoint: a few hundred pages under load. */
const checkpointDelayMs = 100;

// Shared state, Int32 slots: the commits since the worker last looked, and whether to stop.
const COMMITS = 0;
const STOP = 1;

// The worker's code, evaluated as a script: it loads the same SQLite build as the main thread (by
// the absolute path it is given) and sleeps in Atomics.wait between checkpoints, so an idle server
// costs nothing.
const workerSource = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const state = new Int32Array(workerData.state);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
try {
  for (;;) {
    Atomics.wait(state, ${COMMITS}, 0);
    if (Atomics.load(state, ${STOP}) !== 0) break;
    Atomics.wait(state, ${STOP}, 0, workerData.delayMs);
    if (Atomics.load(state, ${STOP}) !== 0) break;
    Atomics.store(state, ${COMMITS}, 0);
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // SQLITE_BUSY and the like: the next commit brings the next try.
    }
  }
} finally {
  db.close();
}
`;

/** Starts the checkpoint worker of the SQLite database at `path` (a file, in WAL mode). */
export class WalCheckpointer {
  readonly #state = new Int32Array(new SharedArrayBuffer(8));
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, busyTimeoutMs: number) {
    const driver = createRequire(import.meta.url).resolve(sqliteDriverPackage);
    this.#worker = new Worker(workerSource, {
      eval: true,
      workerData: { driver, path, busyTimeoutMs, delayMs: checkpointDelayMs, state: this.#state.buffer },
    });
    // The worker never keeps the process alive; a server shuts down by closing its database.
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
    // A worker that fails (it could not open the database) leaves the WAL to grow until close,
    // when SQLite checkpoints it; nothing is lost.
    this.#worker.on("error", () => undefined);
  }

  /** Tells the worker a write transaction committed. */
  committed(): void {
    if (Atomics.add(this.#state, COMMITS, 1) === 0) Atomics.notify(this.#state, COMMITS);
  }

  /** Stops the worker (after the checkpoint it may be running) and closes its connection. */
  async close(): Promise<void> {
    // Waiting for its exit must keep the process alive until it comes.
    this.#worker.ref();
    Atomics.store(this.#state, STOP, 1);
    Atomics.store(this.#state, COMMITS, 1);
    Atomics.notify(this.#state, STOP);
    Atomics.notify(this.#state, COMMITS);
    await this.#exited;
  }
}
