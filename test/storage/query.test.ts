// db.query and db.queryEach, the prepared-statement escape hatch of the stores' hot paths.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Trx } from "../../src/storage/database.ts";
import { StorageError, isUniqueViolation } from "../../src/storage/errors.ts";
import { forEachEngine, openTestDatabase } from "./engines.ts";

forEachEngine("Database.query", (getDb, engine) => {
  it("runs SQL with ? placeholders in a write, returning the rows of RETURNING and SELECT", async () => {
    const db = getDb();
    const inserted = await db.write("test_query_insert", (trx) =>
      db.query<{ user_id: string }>(trx, "insert into users (user_id, password_hash, created_ts) values (?, ?, ?) returning user_id", ["@q1:example.org", null, 7]),
    );
    assert.deepEqual(inserted, [{ user_id: "@q1:example.org" }]);
    // Many placeholders (numbered past $9 on PostgreSQL), and the same text again (prepared once on SQLite).
    for (const n of [2, 3]) {
      await db.write("test_query_wide", (trx) =>
        db.query(trx, "insert into users (user_id, password_hash, created_ts, displayname, avatar_url) values (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)", [
          `@q${n}a:example.org`, null, n, `name ${n}`, null,
          `@q${n}b:example.org`, null, n, null, "mxc://example.org/a",
        ]),
      );
    }
    const rows = await db.read("test_query_select", (trx) =>
      db.query<{ user_id: string; created_ts: number; displayname: string | null }>(
        trx,
        "select user_id, created_ts, displayname from users where user_id in (?, ?, ?) and created_ts >= ? order by user_id",
        ["@q1:example.org", "@q2a:example.org", "@q3b:example.org", 1],
      ),
    );
    assert.deepEqual(rows, [
      { user_id: "@q1:example.org", created_ts: 7, displayname: null },
      { user_id: "@q2a:example.org", created_ts: 2, displayname: "name 2" },
      { user_id: "@q3b:example.org", created_ts: 3, displayname: null },
    ]);
    // A statement without rows answers none.
    assert.deepEqual(await db.write("test_query_update", (trx) => db.query(trx, "update users set created_ts = ? where user_id = ?", [8, "@q1:example.org"])), []);
  });

  it("runs one statement per parameter list with queryEach, in order, its rows together", async () => {
    const db = getDb();
    const rows = await db.write("test_query_each", (trx) =>
      db.queryEach<{ user_id: string; created_ts: number }>(
        trx,
        "insert into users (user_id, password_hash, created_ts) values (?, null, ?) returning user_id, created_ts",
        [["@e1:example.org", 1], ["@e2:example.org", 2], ["@e3:example.org", 3]],
      ),
    );
    assert.deepEqual(rows.map((r) => [r.user_id, r.created_ts]), [["@e1:example.org", 1], ["@e2:example.org", 2], ["@e3:example.org", 3]]);
    assert.deepEqual(await db.write("test_query_each_empty", (trx) => db.queryEach(trx, "delete from users where user_id = ?", [])), []);
  });

  it("rolls back with the transaction, and reports driver errors as StorageError naming it", async () => {
    const db = getDb();
    const boom = new Error("boom");
    await assert.rejects(
      db.write("test_query_rollback", async (trx) => {
        await db.query(trx, "insert into users (user_id, password_hash, created_ts) values (?, null, 1)", ["@rolled:example.org"]);
        throw boom;
      }),
      (err: unknown) => err === boom,
    );
    const left = await db.read("test_query_after_rollback", (trx) => db.query(trx, "select user_id from users where user_id = ?", ["@rolled:example.org"]));
    assert.deepEqual(left, []);
    await assert.rejects(
      db.write("test_query_duplicate", (trx) =>
        db.queryEach(trx, "insert into users (user_id, password_hash, created_ts) values (?, null, 1)", [["@dup:example.org"], ["@dup:example.org"]]),
      ),
      (err: unknown) => err instanceof StorageError && err.transaction === "test_query_duplicate" && isUniqueViolation(err),
    );
    const none = await db.read("test_query_after_duplicate", (trx) => db.query(trx, "select user_id from users where user_id = ?", ["@dup:example.org"]));
    assert.deepEqual(none, []);
  });

  it("refuses a transaction that has ended, or that is another database's", async () => {
    const db = getDb();
    let stale: Trx | undefined;
    await db.read("test_query_keep", async (trx) => {
      stale = trx;
    });
    await assert.rejects(db.query(stale as Trx, "select 1 as one", []), (err: unknown) => err instanceof StorageError && /not running/.test(err.message));
    const other = await openTestDatabase(engine);
    try {
      await other.db.read("test_query_other", async (trx) => {
        await assert.rejects(db.query(trx, "select 1 as one", []), StorageError);
      });
    } finally {
      await other.cleanup();
    }
  });

  it("reads one statement with readOnce: the last commit, also when a read transaction with an older snapshot was open", async () => {
    const db = getDb();
    const find = (userId: string) => db.readOnce<{ user_id: string }>("test_read_once", "select user_id from users where user_id = ?", [userId]);
    assert.deepEqual(await find("@once1:example.org"), []);
    await db.write("test_once_insert", (trx) => db.query(trx, "insert into users (user_id, password_hash, created_ts) values (?, null, 1)", ["@once1:example.org"]));
    assert.deepEqual(await find("@once1:example.org"), [{ user_id: "@once1:example.org" }]);
    // A read transaction takes its snapshot, then waits; a commit lands meanwhile.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let snapshotTaken = (): void => undefined;
    const taken = new Promise<void>((resolve) => (snapshotTaken = resolve));
    const reading = db.read("test_once_old_snapshot", async (trx) => {
      const rows = await db.query(trx, "select user_id from users where user_id = ?", ["@once2:example.org"]);
      snapshotTaken();
      await held;
      return rows;
    });
    await taken;
    await db.write("test_once_insert_2", (trx) => db.query(trx, "insert into users (user_id, password_hash, created_ts) values (?, null, 1)", ["@once2:example.org"]));
    // On SQLite it waits for the reader connection (the old snapshot's), then reads the commit.
    const found = find("@once2:example.org");
    release();
    assert.deepEqual(await reading, []);
    assert.deepEqual(await found, [{ user_id: "@once2:example.org" }]);
    await assert.rejects(db.readOnce("test_once_bad", "select nothing from nowhere", []), (err: unknown) => err instanceof StorageError && err.transaction === "test_once_bad");
  });

  it("never shows readOnce what a write still open has written", async () => {
    const db = getDb();
    let commitWrite = (): void => undefined;
    const writeMayCommit = new Promise<void>((resolve) => (commitWrite = resolve));
    let written = (): void => undefined;
    const rowWritten = new Promise<void>((resolve) => (written = resolve));
    const writing = db.write("test_once_open_write", async (trx) => {
      await db.query(trx, "insert into users (user_id, password_hash, created_ts) values (?, null, 1)", ["@once3:example.org"]);
      written();
      await writeMayCommit;
    });
    await rowWritten;
    // Also with the reader held by a read transaction: readOnce then waits for a read of its own.
    let endRead = (): void => undefined;
    const readMayEnd = new Promise<void>((resolve) => (endRead = resolve));
    const reading = db.read("test_once_held_read", async () => {
      await readMayEnd;
    });
    const whileOpen = db.readOnce<{ user_id: string }>("test_once_uncommitted", "select user_id from users where user_id = ?", ["@once3:example.org"]);
    endRead();
    await reading;
    assert.deepEqual(await whileOpen, []);
    commitWrite();
    await writing;
    assert.deepEqual(await db.readOnce("test_once_committed", "select user_id from users where user_id = ?", ["@once3:example.org"]), [{ user_id: "@once3:example.org" }]);
    await assert.rejects(db.readOnce("test_once_write", "delete from users where user_id = ?", ["@once3:example.org"]), StorageError);
  });
});
