/**
 * Runs a storage test suite on both engines: every storage test uses this.
 *
 *   import { it } from "node:test";
 *   import { forEachEngine } from "../engines.ts";
 *
 *   forEachEngine("UserStore", (getDb, engine) => {
 *     it("creates a user", async () => {
 *       const users = new UserStore(getDb());
 *       ...
 *     });
 *   });
 *
 * This registers the suites "UserStore [sqlite]" and "UserStore [postgres]". Each gets a fresh,
 * migrated database before its first test, closed and deleted after its last. The tests of one
 * suite share that database, so give each test its own IDs; a test that needs an empty database
 * (or reopens one) calls openTestDatabase(engine) or createTestStorage(engine) itself. A test
 * that only makes sense on one engine is registered for that engine alone, with a comment saying why:
 * `if (engine === "postgres") it("...", ...)`.
 *
 * SQLite: a file in a fresh temporary directory (WAL needs a real file), removed afterwards.
 * PostgreSQL: the server at WEFT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
 * each database is a new schema weft_test_<random>, dropped afterwards, so runs never collide.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import pg from "pg";
import { openDatabase } from "../../src/storage/database.ts";
import type { Database, DatabaseConfig, OpenOptions } from "../../src/storage/database.ts";
import type { Engine } from "../../src/storage/engine.ts";
import { quoteIdentifier } from "../../src/storage/postgres.ts";

export const engines: readonly Engine[] = ["sqlite", "postgres"];

export const postgresUrl = process.env.WEFT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Where an empty database lives, not yet opened; drop() deletes it. */
export interface TestStorage {
  config: DatabaseConfig;
  drop(): Promise<void>;
}

async function withAdminClient(run: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

/** Makes room for an empty database: a temporary directory, or a new PostgreSQL schema. */
export async function createTestStorage(engine: Engine): Promise<TestStorage> {
  if (engine === "sqlite") {
    const dir = await mkdtemp(join(tmpdir(), "weft-test-"));
    return {
      config: { engine: "sqlite", path: join(dir, "weft.db") },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const schema = `weft_test_${randomBytes(6).toString("hex")}`;
  await withAdminClient((client) => client.query(`create schema ${quoteIdentifier(schema)}`).then(() => undefined));
  return {
    config: { engine: "postgres", connectionString: postgresUrl, schema, poolSize: 10 },
    drop: () =>
      withAdminClient((client) => client.query(`drop schema if exists ${quoteIdentifier(schema)} cascade`).then(() => undefined)),
  };
}

export interface TestDatabase extends TestStorage {
  db: Database;
  /** Closes db (if still open) and deletes the database. */
  cleanup(): Promise<void>;
}

/** A fresh, migrated database of the engine. */
export async function openTestDatabase(engine: Engine, options?: OpenOptions): Promise<TestDatabase> {
  const storage = await createTestStorage(engine);
  let db: Database;
  try {
    // Storage tests always check that transactions do not nest (a development check, off by default).
    db = await openDatabase(storage.config, { checkNesting: true, ...options });
  } catch (err) {
    await storage.drop();
    throw err;
  }
  return {
    ...storage,
    db,
    cleanup: async () => {
      await db.close();
      await storage.drop();
    },
  };
}

/** Registers `body`'s tests once per engine, each suite on its own fresh database. */
export function forEachEngine(title: string, body: (getDb: () => Database, engine: Engine) => void): void {
  for (const engine of engines) {
    describe(`${title} [${engine}]`, () => {
      let test: TestDatabase | undefined;
      before(async () => {
        test = await openTestDatabase(engine);
      });
      after(async () => {
        await test?.cleanup();
      });
      body(() => {
        if (test === undefined) throw new Error("the test database is opened in before(): use getDb() inside a test");
        return test.db;
      }, engine);
    });
  }
}
