import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { sql } from "kysely";
import pino from "pino";
import { openDatabase } from "../../src/storage/database.ts";
import type { Trx } from "../../src/storage/database.ts";
import { StorageError, isSerializationFailure, isUniqueViolation } from "../../src/storage/errors.ts";
import type { StorageLogger } from "../../src/storage/logger.ts";
import { migrations } from "../../src/storage/migrations/index.ts";
import { engines, forEachEngine, openTestDatabase } from "./engines.ts";

/** A promise with its resolve function, to hold a transaction open until a test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function counters(trx: Trx) {
  return trx.withTables<{ test_counters: { name: string; n: number } }>();
}

forEachEngine("Database", (getDb, engine) => {
  it("commits a write and rolls back one whose fn throws, rethrowing its error as is", async () => {
    const db = getDb();
    const boom = new Error("boom");
    await assert.rejects(
      db.write("test_rollback", async (trx) => {
        await trx.insertInto("users").values({ user_id: "@rolled:back", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute();
        throw boom;
      }),
      (err: unknown) => err === boom,
    );
    const row = await db.read("test_read", (trx) => trx.selectFrom("users").select("user_id").where("user_id", "=", "@rolled:back").executeTakeFirst());
    assert.equal(row, undefined);
  });

  it("names the transaction in a database error, and recognises a unique violation", async () => {
    const db = getDb();
    const insert = (trx: Trx) =>
      trx.insertInto("users").values({ user_id: "@twice:example.org", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute();
    await db.write("test_first_insert", insert);
    await assert.rejects(db.write("test_second_insert", insert), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.transaction, "test_second_insert");
      assert.match(err.message, /"test_second_insert"/);
      assert.ok(isUniqueViolation(err));
      assert.ok(!isSerializationFailure(err));
      return true;
    });
  });

  it("runs 200 concurrent read-modify-write increments without losing one", async () => {
    const db = getDb();
    await db.write("test_create_counters", async (trx) => {
      await trx.schema.createTable("test_counters").addColumn("name", "text", (c) => c.primaryKey()).addColumn("n", "integer", (c) => c.notNull()).execute();
      await counters(trx).insertInto("test_counters").values({ name: "hits", n: 0 }).execute();
    });
    let inside = 0;
    let mostInside = 0;
    const order: number[] = [];
    const increments = Array.from({ length: 200 }, (_, i) =>
      db.write("test_increment", async (trx) => {
        order.push(i);
        inside++;
        mostInside = Math.max(mostInside, inside);
        try {
          const row = await counters(trx).selectFrom("test_counters").select("n").where("name", "=", "hits").executeTakeFirstOrThrow();
          await yieldToEventLoop(); // give any other transaction every chance to interleave
          await counters(trx).updateTable("test_counters").set({ n: row.n + 1 }).where("name", "=", "hits").execute();
        } finally {
          inside--;
        }
      }),
    );
    const results = await Promise.allSettled(increments);
    const done = results.filter((r) => r.status === "fulfilled").length;
    const final = await db.read("test_read_counter", (trx) =>
      counters(trx).selectFrom("test_counters").select("n").where("name", "=", "hits").executeTakeFirstOrThrow(),
    );
    // Every acknowledged increment is there, and nothing else.
    assert.equal(final.n, done);
    if (engine === "sqlite") {
      // One writer: the transactions ran one after the other, and none had to fail.
      assert.equal(mostInside, 1);
      assert.equal(done, 200);
      assert.deepEqual(order, Array.from({ length: 200 }, (_, i) => i)); // first come, first served
    } else {
      // PostgreSQL runs them side by side; a write that kept losing conflicts fails loudly.
      for (const r of results) if (r.status === "rejected") assert.ok(isSerializationFailure(r.reason), String(r.reason));
      assert.ok(done > 0);
    }
  });

  it("reads the last committed state while a write is still open", async () => {
    const db = getDb();
    const hold = gate();
    const inserted = gate();
    const writing = db.write("test_held_write", async (trx) => {
      await trx.insertInto("users").values({ user_id: "@pending:example.org", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute();
      inserted.open();
      await hold.promise;
    });
    await inserted.promise;
    const find = () =>
      db.read("test_find_pending", (trx) => trx.selectFrom("users").select("user_id").where("user_id", "=", "@pending:example.org").executeTakeFirst());
    assert.equal(await find(), undefined);
    hold.open();
    await writing;
    assert.deepEqual(await find(), { user_id: "@pending:example.org" });
  });

  it("refuses writes inside db.read", async () => {
    const db = getDb();
    await assert.rejects(
      db.read("test_sneaky_write", (trx) =>
        trx.insertInto("users").values({ user_id: "@sneaky:example.org", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute(),
      ),
      (err: unknown) => err instanceof StorageError && err.transaction === "test_sneaky_write",
    );
  });

  it("refuses a transaction started inside another", async () => {
    const db = getDb();
    await assert.rejects(
      db.write("test_outer", () => db.write("test_inner", async () => 1)),
      (err: unknown) => err instanceof StorageError && /"test_outer"/.test(err.message) && err.transaction === "test_inner",
    );
    await assert.rejects(
      db.read("test_outer_read", () => db.read("test_inner_read", async () => 1)),
      (err: unknown) => err instanceof StorageError && err.transaction === "test_inner_read",
    );
    // The outer transactions are over: transactions work again.
    assert.equal(await db.write("test_after", async () => 2), 2);
  });

  it("reads BIGINT columns as JS numbers", async () => {
    const db = getDb();
    const ts = 1_700_000_000_123;
    await db.write("test_bigint", (trx) =>
      trx.insertInto("users").values({ user_id: "@big:example.org", password_hash: null, created_ts: ts, displayname: null, avatar_url: null }).execute(),
    );
    const row = await db.read("test_bigint_read", (trx) => trx.selectFrom("users").select("created_ts").where("user_id", "=", "@big:example.org").executeTakeFirstOrThrow());
    assert.equal(row.created_ts, ts);
    const count = await db.read("test_count", (trx) => trx.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow());
    assert.equal(typeof count.n, "number");
  });

  // PostgreSQL's int8 parser only
  if (engine !== "sqlite") it("fails a BIGINT beyond 2^53 instead of rounding it", async () => {
    const db = getDb();
    await assert.rejects(
      db.read("test_huge", (trx) => sql<{ v: number }>`select cast(${"9007199254740993"} as bigint) as v`.execute(trx)),
      /does not fit/,
    );
  });

  // SQLite has one writer: writes never conflict
  if (engine !== "sqlite") it("runs a write again when it loses a serialization conflict", async () => {
    const db = getDb();
    await db.write("test_create_conflict", async (trx) => {
      await trx.schema.createTable("test_conflict").addColumn("name", "text", (c) => c.primaryKey()).addColumn("n", "integer", (c) => c.notNull()).execute();
      await trx.withTables<{ test_conflict: { name: string; n: number } }>().insertInto("test_conflict").values({ name: "x", n: 0 }).execute();
    });
    // Both transactions read before either writes, so one of them must lose and run again.
    let reads = 0;
    const bothRead = gate();
    let runs = 0;
    const increment = () =>
      db.write("test_conflicting_increment", async (trx) => {
        runs++;
        const t = trx.withTables<{ test_conflict: { name: string; n: number } }>();
        const row = await t.selectFrom("test_conflict").select("n").where("name", "=", "x").executeTakeFirstOrThrow();
        if (++reads === 2) bothRead.open();
        if (reads <= 2) await bothRead.promise;
        await t.updateTable("test_conflict").set({ n: row.n + 1 }).where("name", "=", "x").execute();
      });
    await Promise.all([increment(), increment()]);
    const row = await db.read("test_read_conflict", (trx) =>
      trx.withTables<{ test_conflict: { name: string; n: number } }>().selectFrom("test_conflict").select("n").executeTakeFirstOrThrow(),
    );
    assert.equal(row.n, 2);
    assert.equal(runs, 3);
  });

  // SQLite pragmas
  // SQLite: NORMAL, since Database.write syncs the WAL itself (wal-sync.ts; wal-sync.test.ts checks it).
  if (engine !== "postgres") it("keeps SQLite in WAL mode with synchronous=NORMAL and foreign keys on", async () => {
    const db = getDb();
    const pragma = async (name: string) =>
      db.write(`test_pragma_${name}`, async (trx) => Object.values((await sql.raw(`pragma ${name}`).execute(trx)).rows[0] ?? {})[0]);
    assert.equal(await pragma("journal_mode"), "wal");
    assert.equal(await pragma("synchronous"), 1); // NORMAL
    assert.equal(await pragma("foreign_keys"), 1);
  });
});

for (const engine of engines) describe(`Database lifecycle [${engine}]`, () => {
  it("logs each transaction by name through a pino-shaped logger", async () => {
    const seen: { obj: object; msg: string | undefined }[] = [];
    const logger: StorageLogger = {
      debug: (obj, msg) => seen.push({ obj, msg }),
      warn: (obj, msg) => seen.push({ obj, msg }),
    };
    const test = await openTestDatabase(engine, { logger });
    try {
      await test.db.write("test_logged_write", async () => undefined);
      assert.ok(seen.some((e) => (e.obj as { transaction?: string }).transaction === "test_logged_write"));
    } finally {
      await test.cleanup();
    }
    // pino's logger fits the hook as it is.
    const fromPino: StorageLogger = pino({ level: "silent" });
    fromPino.debug({ transaction: "x" }, "compiles");
  });

  it("waits for running transactions on close, then refuses new ones", async () => {
    const test = await openTestDatabase(engine);
    try {
      const hold = gate();
      const entered = gate();
      const writing = test.db.write("test_held", async (trx) => {
        await trx.insertInto("users").values({ user_id: "@late:example.org", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute();
        entered.open();
        await hold.promise;
        return "done";
      });
      await entered.promise;
      const closing = test.db.close();
      hold.open();
      assert.equal(await writing, "done");
      await closing;
      await assert.rejects(test.db.read("test_after_close", async () => 1), StorageError);
    } finally {
      await test.cleanup();
    }
  });
});

describe("Database [sqlite :memory:]", () => {
  it("runs reads and writes on its one connection, a read waiting for the open write", async () => {
    const db = await openDatabase({ engine: "sqlite", path: ":memory:" });
    try {
      assert.equal(db.schemaVersion, migrations.length);
      const hold = gate();
      const entered = gate();
      const writing = db.write("test_memory_write", async (trx) => {
        await trx.insertInto("users").values({ user_id: "@mem:example.org", password_hash: null, created_ts: 1, displayname: null, avatar_url: null }).execute();
        entered.open();
        await hold.promise;
      });
      await entered.promise;
      const reading = db.read("test_memory_read", (trx) => trx.selectFrom("users").select("user_id").executeTakeFirst());
      hold.open();
      await writing;
      assert.deepEqual(await reading, { user_id: "@mem:example.org" });
    } finally {
      await db.close();
    }
  });
});
