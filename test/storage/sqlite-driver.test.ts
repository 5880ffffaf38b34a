// The better-sqlite3 build each Node line loads (src/storage/sqlite-driver.ts), and the failure it
// exists for: on Node 24.19 and later, better-sqlite3 12 aborts the process when a statement is
// collected outside JavaScript. SQLite only: the driver under test is SQLite's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { sqliteDriverPackage } from "../../src/storage/sqlite-driver.ts";
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
