// The better-sqlite3 build each Node line loads (src/storage/sqlite-driver.ts), and the failure it
// exists for: on Node 24.19 and later, better-sqlite3 12 aborts the process when a statement is
// collected outside JavaScript; and the prepared statements each connection keeps (sqlite.ts).
// SQLite only: the driver under test is SQLite's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { PreparedStatementCache } from "../../src/storage/sqlite.ts";
import { SqliteDatabase, sqliteDriverPackage } from "../../src/storage/sqlite-driver.ts";
import { startChild } from "./child.ts";
import { createTestStorage } from "./engines.ts";

const nodeMajor = Number(process.versions.node.split(".")[0]);

describe("the SQLite driver", () => {
  it("is better-sqlite3 13 (Node-API) from Node 22 on, and 12 on Node 20", () => {
    const { version } = createRequire(import.meta.url)(`${sqliteDriverPackage}/package.json`) as { version: string };
    const major = Number(version.split(".")[0]);
    if (nodeMajor >= 22) assert.ok(major >= 13, `Node ${process.version} loads better-sqlite3 ${version}`);
    else assert.equal(major, 12, `Node ${process.version} loads better-sqlite3 ${version}`);
  });

  it("survives statements that the garbage collector finds after their queries ran", async () => {
    const storage = await createTestStorage("sqlite");
    try {
      const child = await startChild("discarded-statements.ts", storage.config).done;
      assert.equal(child.signal, null, `the child was killed by ${child.signal}: ${child.stderr}`);
      assert.equal(child.code, 0, child.stderr);
      assert.deepEqual(child.lines, ["done"]);
    } finally {
      await storage.drop();
    }
  });
});

describe("a connection's prepared statements", () => {
  function withCache(body: (cache: PreparedStatementCache) => void): void {
    const cache = new PreparedStatementCache(new SqliteDatabase(":memory:"));
    try {
      body(cache);
    } finally {
      cache.close();
    }
  }

  it("hands out the statement kept for a text, and drops the least recently used past 512", () => {
    withCache((cache) => {
      const first = cache.prepare("select 1 as n");
      const hot = cache.prepare("select 2 as n");
      assert.equal(cache.prepare("select 1 as n"), first);
      for (let i = 0; i < 511; i++) {
        cache.prepare(`select ${i + 10} as n`);
        if (i % 100 === 0) assert.equal(cache.prepare("select 2 as n"), hot);
      }
      // 513 texts were prepared: the least recently used (the first) made room, while the one used
      // all along stayed.
      assert.equal(cache.prepare("select 2 as n"), hot);
      const again = cache.prepare("select 1 as n");
      assert.notEqual(again, first);
      assert.deepEqual(again.all([]), [{ n: 1 }]);
    });
  });

  it("runs a text again while a statement of that text is still being iterated", () => {
    withCache((cache) => {
      const text = "select value from json_each('[1,2,3]')";
      const rows = cache.prepare(text).iterate([]);
      assert.deepEqual(rows.next().value, { value: 1 });
      assert.deepEqual(cache.prepare(text).all([]), [{ value: 1 }, { value: 2 }, { value: 3 }]);
      assert.deepEqual([...rows], [{ value: 2 }, { value: 3 }]);
    });
  });
});
