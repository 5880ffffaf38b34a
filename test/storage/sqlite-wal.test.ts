// The WAL of a SQLite database stays within SQLite's checkpoint threshold (src/storage/sqlite.ts
// walAutocheckpointPages): commits then rewrite the blocks of a WAL file that has stopped growing.
// SQLite only: PostgreSQL's WAL is the server's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { sql } from "kysely";
import { openDatabase } from "../../src/storage/database.ts";
import { createTestStorage } from "./engines.ts";

const PAGE = 4096;
/** A WAL frame: a 24-byte header and a page. */
const FRAME = 24 + PAGE;

describe("the SQLite WAL", () => {
  it("stops growing at about 1,000 pages, and keeps every row", async () => {
    const storage = await createTestStorage("sqlite");
    try {
      if (storage.config.engine !== "sqlite") throw new Error("a SQLite storage was asked for");
      const wal = `${storage.config.path}-wal`;
      const db = await openDatabase(storage.config);
      try {
        await db.write("test_create", (trx) => sql`create table test_blobs (id integer primary key, data text not null)`.execute(trx));
        // 2,500 pages written: two and a half times the threshold.
        for (let i = 0; i < 1250; i++) {
          await db.write("test_blob", (trx) => sql`insert into test_blobs (data) values (${"x".repeat(PAGE + 100)})`.execute(trx));
        }
        const frames = Math.floor(statSync(wal).size / FRAME);
        assert.ok(frames < 1200, `the WAL holds ${frames} frames`);
        const count = await db.read("test_count", (trx) => sql<{ n: number }>`select count(*) as n from test_blobs`.execute(trx));
        assert.equal(count.rows[0]?.n, 1250);
      } finally {
        await db.close();
      }
    } finally {
      await storage.drop();
    }
  });
});
