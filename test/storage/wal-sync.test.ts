// When a SQLite write is durable: Database.write syncs the WAL after COMMIT (src/storage/wal-sync.ts),
// at once or, for a busy room, off the main thread with the commits around it. SQLite only:
// PostgreSQL makes its commits durable itself.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { sql } from "kysely";
import { openDatabase } from "../../src/storage/database.ts";
import type { Database, Trx } from "../../src/storage/database.ts";
import { StorageError } from "../../src/storage/errors.ts";
import { WalSync } from "../../src/storage/wal-sync.ts";
import type { FileSync } from "../../src/storage/wal-sync.ts";
import { createTestStorage } from "./engines.ts";

/** A FileSync that records its calls and holds each background sync until the test ends it. */
function recordingSync(): { fileSync: FileSync; calls: string[]; held: Array<(err: Error | null) => void> } {
  const calls: string[] = [];
  const held: Array<(err: Error | null) => void> = [];
  return {
    calls,
    held,
    fileSync: {
      now: () => void calls.push("now"),
      soon: (_fd, done) => {
        calls.push("soon");
        held.push(done);
      },
    },
  };
}

/** Settles the promise into a flag, to look at whether it has resolved yet. */
function watch(promise: Promise<unknown>): { done: boolean; failed: unknown } {
  const state = { done: false, failed: undefined as unknown };
  promise.then(
    () => (state.done = true),
    (err: unknown) => (state.failed = err),
  );
  return state;
}

async function withWalFile(run: (databasePath: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "weft-wal-sync-"));
  try {
    const databasePath = join(dir, "weft.db");
    await writeFile(`${databasePath}-wal`, "");
    await run(databasePath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("WalSync", () => {
  it("syncs at once with now(), through one descriptor of the WAL", async () => {
    await withWalFile(async (path) => {
      const { fileSync, calls } = recordingSync();
      const wal = new WalSync(path, fileSync);
      wal.now();
      wal.now();
      assert.deepEqual(calls, ["now", "now"]);
      wal.close();
    });
  });

  it("shares one background sync among the calls made while another runs, started only when that one ends", async () => {
    await withWalFile(async (path) => {
      const { fileSync, calls, held } = recordingSync();
      const wal = new WalSync(path, fileSync);
      const first = watch(wal.soon());
      // Commits that end while the first sync runs may not be covered by it: they wait for the next.
      const second = watch(wal.soon());
      const third = watch(wal.soon());
      assert.deepEqual(calls, ["soon"]);
      held[0]?.(null);
      await yieldToEventLoop();
      assert.equal(first.done, true);
      assert.equal(second.done, false);
      assert.deepEqual(calls, ["soon", "soon"]);
      held[1]?.(null);
      await yieldToEventLoop();
      assert.equal(second.done, true);
      assert.equal(third.done, true);
      // Nothing running: the next call starts a sync of its own.
      const fourth = watch(wal.soon());
      assert.deepEqual(calls, ["soon", "soon", "soon"]);
      held[2]?.(null);
      await yieldToEventLoop();
      assert.equal(fourth.done, true);
      wal.close();
    });
  });

  it("rejects the callers of a failed sync, and starts afresh after it", async () => {
    await withWalFile(async (path) => {
      const { fileSync, held } = recordingSync();
      const wal = new WalSync(path, fileSync);
      const failing = wal.soon();
      const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
      held[0]?.(eio);
      await assert.rejects(failing, (err: unknown) => err === eio);
      const next = watch(wal.soon());
      held[1]?.(null);
      await yieldToEventLoop();
      assert.equal(next.done, true);
      wal.close();
    });
  });

  it("syncs a real file, at once and in the background", async () => {
    await withWalFile(async (path) => {
      const wal = new WalSync(path);
      wal.now();
      await Promise.all([wal.soon(), wal.soon(), wal.soon()]);
      wal.close();
    });
  });
});

describe("Database.write on SQLite syncs the WAL before it resolves", () => {
  async function withDatabase(fileSync: FileSync | undefined, run: (db: Database) => Promise<void>): Promise<void> {
    const storage = await createTestStorage("sqlite");
    try {
      const db = await openDatabase(storage.config, fileSync === undefined ? {} : { fileSync });
      try {
        await db.write("test_create", (trx) => sql`create table test_rows (id integer primary key, lane text not null)`.execute(trx));
        await run(db);
      } finally {
        await db.close();
      }
    } finally {
      await storage.drop();
    }
  }

  const insert = (lane: string) => (trx: Trx) => sql`insert into test_rows (lane) values (${lane})`.execute(trx);

  it("syncs each write at once by default, and nothing for a write rolled back", async () => {
    const { fileSync, calls } = recordingSync();
    await withDatabase(fileSync, async (db) => {
      calls.length = 0;
      await db.write("test_insert", insert("a"));
      assert.deepEqual(calls, ["now"]);
      await assert.rejects(db.write("test_rollback", async () => Promise.reject(new Error("boom"))));
      assert.deepEqual(calls, ["now"]);
    });
  });

  it("holds a background write until its sync ends, while the next writers go on", async () => {
    const { fileSync, calls, held } = recordingSync();
    await withDatabase(fileSync, async (db) => {
      calls.length = 0;
      const busy = watch(db.write("test_busy", insert("busy"), { syncInBackground: true }));
      await yieldToEventLoop();
      assert.deepEqual(calls, ["soon"]);
      assert.equal(busy.done, false);
      // The write lock is free again: another write commits and syncs meanwhile.
      await db.write("test_next", insert("next"));
      const rows = await db.read("test_read", (trx) => sql<{ lane: string }>`select lane from test_rows order by id`.execute(trx));
      assert.deepEqual(rows.rows.map((r) => r.lane), ["busy", "next"]);
      assert.equal(busy.done, false);
      held[0]?.(null);
      await yieldToEventLoop();
      assert.equal(busy.done, true);
    });
  });

  it("rejects a write whose sync failed with a StorageError naming it", async () => {
    const { fileSync, held } = recordingSync();
    await withDatabase(fileSync, async (db) => {
      const write = db.write("test_unsynced", insert("x"), { syncInBackground: true });
      await yieldToEventLoop();
      held[0]?.(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      await assert.rejects(write, (err: unknown) => err instanceof StorageError && err.message.includes("test_unsynced") && err.message.includes("EIO"));
    });
  });

  it("keeps every write of many background writers at once, after the database is opened again", async () => {
    const storage = await createTestStorage("sqlite");
    try {
      const db = await openDatabase(storage.config);
      await db.write("test_create", (trx) => sql`create table test_rows (id integer primary key, lane text not null)`.execute(trx));
      await Promise.all(Array.from({ length: 50 }, (_, i) => db.write("test_busy", insert(`lane-${i}`), { syncInBackground: i % 2 === 0 })));
      await db.close();
      const again = await openDatabase(storage.config);
      try {
        const count = await again.read("test_count", (trx) => sql<{ n: number }>`select count(*) as n from test_rows`.execute(trx));
        assert.equal(count.rows[0]?.n, 50);
      } finally {
        await again.close();
      }
    } finally {
      await storage.drop();
    }
  });
});
