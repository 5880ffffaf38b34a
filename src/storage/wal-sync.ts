// When a SQLite commit becomes durable: we sync the WAL ourselves, rather than SQLite inside COMMIT.
//
// The writer connection runs synchronous=NORMAL: a commit writes its WAL frames without syncing
// them (WAL mode stays consistent after any crash; only durability is left to us). Before a write
// is acknowledged (db.write resolves) its frames are synced here, in one of two ways:
// - now: fdatasync on the main thread, as synchronous=FULL would do inside COMMIT. The cheapest
//   when nothing else is waiting: handing the sync to another thread and back costs about 90 us
//   on a VM (two thread wake-ups), a quarter of the sync itself.
// - soon: fdatasync on libuv's thread pool, for a caller that expects more writes at once (a room
//   busy with several senders). The event loop takes in the next requests while the disk works,
//   instead of stalling for the whole sync (with 16 senders in one room, a quarter of the main
//   thread's time went to syncs), and one sync covers every commit that ended before it started
//   (group commit).
// Syncing the file through our own descriptor is enough: fdatasync flushes the file (the inode),
// whichever descriptor asks, with the size when the WAL grew. Between COMMIT and a background sync,
// reads already see the commit: only a power loss in that window (under a millisecond) could take
// back what they saw, never a crash of the process.
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CoveringRun } from "../core/covering-run.ts";

/** How a file's data is synced: Node's fdatasync, or a recording one in tests. */
export interface FileSync {
  now(fd: number): void;
  soon(fd: number, done: (err: Error | null) => void): void;
}

const fdatasyncs: FileSync = { now: fdatasyncSync, soon: fdatasync };

export class WalSync {
  readonly #walPath: string;
  readonly #fileSync: FileSync;
  #fd: number | undefined;
  /** Syncs on the thread pool: one at a time, each call covered by one that starts after it (group commit). */
  readonly #background = new CoveringRun(
    () =>
      new Promise<void>((resolve, reject) => {
        this.#fileSync.soon(this.#descriptor(), (err) => (err === null ? resolve() : reject(err)));
      }),
  );

  constructor(databasePath: string, fileSync: FileSync = fdatasyncs) {
    this.#fileSync = fileSync;
    // Absolute: SQLite opened the path against the working folder of that moment.
    this.#walPath = `${resolve(databasePath)}-wal`;
  }

  /** Makes every commit so far durable before returning. */
  now(): void {
    this.#fileSync.now(this.#descriptor());
  }

  /** Settles once every commit so far is durable; the sync runs off the main thread. */
  soon(): Promise<void> {
    return this.#background.run();
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** The WAL, opened at the first sync (SQLite creates it at the first transaction in WAL mode). */
  #descriptor(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(this.#walPath, "r+");
      syncFolderOf(this.#walPath);
    }
    return this.#fd;
  }
}

/**
 * The file's name in its folder must survive a power loss as well as its frames. Best effort, as
 * SQLite does it: some filesystems (and platforms) cannot open or sync a folder, and a write must not
 * fail for that.
 */
function syncFolderOf(path: string): void {
  let folder: number | undefined;
  try {
    folder = openSync(dirname(path), "r");
    fsyncSync(folder);
  } catch {
    // EINVAL, EISDIR, EPERM...: nothing more can be done for the folder here.
  } finally {
    if (folder !== undefined) closeSync(folder);
  }
}
