// WAL checkpoints on the worker thread (src/storage/sqlite-checkpoints.ts). SQLite only: PostgreSQL
// has no WAL file of ours to checkpoint.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { sql } from "kysely";
import { openDatabase } from "../../src/storage/database.ts";
import { SqliteDatabase } from "../../src/storage/sqlite-driver.ts";
import { createTestStorage } from "./engines.ts";

const PAGE = 4096;

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("WAL checkpoints on a worker thread", () => {
  it("copies committed pages into the database file long before SQLite's own threshold, keeping every row", async () => {
    const storage = await createTestStorage("sqlite");
    try {
      if (storage.config.engine !== "sqlite") throw new Error("a SQLite storage was asked for");
      const path = storage.config.path;
      const db = await openDatabase(storage.config);
      await db.write("test_create", (trx) => sql`create table test_blobs (id integer primary key, data text not null)`.execute(trx));
      // Let any checkpoint of the migrations' pages settle before measuring.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = statSync(path).size;
      // 40 commits of 2 pages each: 80 pages, far below the 1,000 at which a commit checkpoints.
      for (let i = 0; i < 40; i++) {
        await db.write("test_blob", (trx) => sql`insert into test_blobs (data) values (${"x".repeat(2 * PAGE)})`.execute(trx));
      }
      const grown = await until(() => statSync(path).size >= before + 60 * PAGE, 5_000);
      assert.ok(grown, `the database file stayed at ${statSync(path).size} bytes (${before} before the writes)`);
      await db.close();

      // Another connection finds every row, and the WAL is gone with the last connection.
      const check = new SqliteDatabase(path, { readonly: true });
      try {
        assert.equal((check.prepare("select count(*) as n from test_blobs").get() as { n: number }).n, 40);
      } finally {
        check.close();
      }
    } finally {
      await storage.drop();
    }
  });

  it("closes with the database even while commits keep it busy", async () => {
    const storage = await createTestStorage("sqlite");
    try {
      const db = await openDatabase(storage.config);
      await db.write("test_create", (trx) => sql`create table test_rows (id integer primary key, n integer not null)`.execute(trx));
      const writes = Array.from({ length: 200 }, (_, i) => db.write("test_row", (trx) => sql`insert into test_rows (n) values (${i})`.execute(trx)));
      await Promise.all(writes);
      await db.close();
      const reopened = await openDatabase(storage.config);
      try {
        const rows = await reopened.read("test_count", (trx) => sql<{ n: number }>`select count(*) as n from test_rows`.execute(trx));
        assert.equal(rows.rows[0]?.n, 200);
      } finally {
        await reopened.close();
      }
    } finally {
      await storage.drop();
    }
  });
});
