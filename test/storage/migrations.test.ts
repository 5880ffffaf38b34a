import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase } from "../../src/storage/database.ts";
import type { Database } from "../../src/storage/database.ts";
import { SchemaTooNewError, StorageError } from "../../src/storage/errors.ts";
import { migrations } from "../../src/storage/migrations/index.ts";
import { addAutoIncrementId, addFlagColumn } from "../../src/storage/migrations/migration.ts";
import type { Migration } from "../../src/storage/migrations/migration.ts";
import { TransactionStore } from "../../src/storage/stores/transactions.ts";
import type { TransactionKey } from "../../src/storage/stores/transactions.ts";
import { sql } from "kysely";
import { startChild } from "./child.ts";
import { createTestStorage, engines } from "./engines.ts";
import type { TestStorage } from "./engines.ts";

const latest = migrations.length;

/** A migration from a future version of Weft, which also exercises the DDL shims. */
const future: Migration = {
  version: latest + 1,
  name: "test_future",
  async up(db, engine) {
    const table = addAutoIncrementId(db.schema.createTable("test_future"), engine, "id");
    await addFlagColumn(table, "flag").execute();
  },
};

const failing: Migration = {
  version: latest + 1,
  name: "test_failing",
  async up(db) {
    await db.schema.createTable("test_half_done").addColumn("x", "text").execute();
    throw new Error("migration failed half-way");
  },
};

function versionRows(db: Database) {
  return db.read("test_versions", (trx) => trx.selectFrom("schema_version").selectAll().orderBy("version").execute());
}

async function withStorage(engine: (typeof engines)[number], run: (storage: TestStorage) => Promise<void>): Promise<void> {
  const storage = await createTestStorage(engine);
  try {
    await run(storage);
  } finally {
    await storage.drop();
  }
}

for (const engine of engines) {
  describe(`migrations [${engine}]`, () => {
    it("apply in order to an empty database, and not again at the next start", () =>
      withStorage(engine, async ({ config }) => {
        const first = await openDatabase(config);
        assert.equal(first.schemaVersion, latest);
        const applied = await versionRows(first);
        assert.deepEqual(
          applied.map((r) => [r.version, r.name]),
          migrations.map((m) => [m.version, m.name]),
        );
        await first.close();

        const second = await openDatabase(config);
        assert.equal(second.schemaVersion, latest);
        assert.deepEqual(await versionRows(second), applied);
        await second.close();
      }));

    it("upgrade an older database with only the migrations it lacks", () =>
      withStorage(engine, async ({ config }) => {
        await (await openDatabase(config)).close();
        const db = await openDatabase(config, { migrations: [...migrations, future] });
        try {
          assert.equal(db.schemaVersion, latest + 1);
          assert.deepEqual((await versionRows(db)).map((r) => r.version), [...migrations, future].map((m) => m.version));
          // The shims made an auto-increment id and a 0/1 flag on this engine.
          const ids = await db.write("test_future_rows", async (trx) => {
            const t = trx.withTables<{ test_future: { id: number | undefined; flag: number } }>();
            await t.insertInto("test_future").values({ flag: 1 }).execute();
            await t.insertInto("test_future").values({ flag: 0 }).execute();
            return (await t.selectFrom("test_future").select("id").orderBy("id").execute()).map((r) => r.id);
          });
          assert.deepEqual(ids, [1, 2]);
          await assert.rejects(
            db.write("test_bad_flag", (trx) =>
              trx.withTables<{ test_future: { flag: number } }>().insertInto("test_future").values({ flag: 2 }).execute(),
            ),
            StorageError,
          );
        } finally {
          await db.close();
        }
      }));

    it("012 keeps every transaction ID while leaving unredacted events out of the redaction index", () =>
      withStorage(engine, async ({ config }) => {
        const before = await openDatabase(config, { migrations: migrations.filter((m) => m.version < 12) });
        const keys = [1, 2, 3].map((i) => ({ userId: `@m${i}:example.org`, deviceId: `D${i}`, scope: JSON.stringify(["send", "!r:example.org", "m.room.message"]), txnId: `t${i}` }));
        await before.write("test_old_transactions", (trx) =>
          before.queryEach(
            trx,
            "insert into event_transactions (user_id, device_id, scope, txn_id, event_id, created_ts) values (?, ?, ?, ?, ?, ?)",
            keys.map((k, i) => [k.userId, k.deviceId, k.scope, k.txnId, `$e${i}`, 1000 + i]),
          ),
        );
        await before.close();

        const db = await openDatabase(config);
        try {
          assert.equal(db.schemaVersion, latest);
          const store = new TransactionStore(db);
          assert.deepEqual(await Promise.all(keys.map((k) => store.eventFor(k))), ["$e0", "$e1", "$e2"]);
          assert.deepEqual([...(await store.transactionIdsFor(["$e1"], "@m2:example.org", "D2"))], [["$e1", "t2"]]);
          await store.record(keys[0] as TransactionKey, "$other", 5);
          assert.equal(await store.eventFor(keys[0] as TransactionKey), "$e0");
          assert.equal(await store.purgeBefore(1002), 2);
          const definitions = await db.read("test_schema", async (trx) =>
            engine === "sqlite"
              ? (await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where name in ('event_transactions', 'events_redacted_ts_idx')`.execute(trx)).rows
              : (await sql<{ name: string; sql: string }>`select indexname as name, indexdef as sql from pg_indexes where indexname = 'events_redacted_ts_idx' and schemaname = current_schema()`.execute(trx)).rows,
          );
          const definition = (name: string): string => definitions.find((d) => d.name === name)?.sql.toLowerCase() ?? "";
          assert.match(definition("events_redacted_ts_idx"), /where .*redacted_ts.* is not null/);
          if (engine === "sqlite") assert.match(definition("event_transactions"), /without rowid/);
        } finally {
          await db.close();
        }
      }));

    it("023 counts media already stored as last accessed when stored, and pending uploads as never", () =>
      withStorage(engine, async ({ config }) => {
        const before = await openDatabase(config, { migrations: migrations.filter((m) => m.version < 23) });
        await before.write("test_old_media", async (trx) => {
          await before.query(trx, "insert into remote_media (server_name, media_id, content_type, size, fetched_ts) values (?, ?, ?, ?, ?)", ["other.example", "remoteid", "text/plain", 1, 1000]);
          await before.query(trx, "insert into local_media (media_id, user_id, created_ts, upload_ts, size) values (?, ?, ?, ?, ?)", ["uploaded", "@a:example.org", 2000, 2500, 1]);
          await before.query(trx, "insert into local_media (media_id, user_id, created_ts, unused_expires_ts) values (?, ?, ?, ?)", ["pending", "@a:example.org", 3000, 9000]);
        });
        await before.close();

        const db = await openDatabase(config);
        try {
          const remote = await db.read("test_remote", (trx) => trx.selectFrom("remote_media").select("last_access_ts").executeTakeFirstOrThrow());
          assert.equal(Number(remote.last_access_ts), 1000);
          const local = await db.read("test_local", (trx) => trx.selectFrom("local_media").select(["media_id", "last_access_ts"]).orderBy("media_id").execute());
          assert.deepEqual(local.map((r) => [r.media_id, r.last_access_ts === null ? null : Number(r.last_access_ts)]), [["pending", null], ["uploaded", 2500]]);
        } finally {
          await db.close();
        }
      }));

    it("refuse a database newer than the code, saying so", () =>
      withStorage(engine, async ({ config }) => {
        await (await openDatabase(config, { migrations: [...migrations, future] })).close();
        await assert.rejects(openDatabase(config), (err: unknown) => {
          assert.ok(err instanceof SchemaTooNewError);
          assert.equal(err.databaseVersion, latest + 1);
          assert.equal(err.knownVersion, latest);
          assert.match(err.message, new RegExp(`version ${latest + 1}, but this build of Weft only knows versions up to ${latest}`));
          return true;
        });
      }));

    it("leave the database at the previous version when one fails", () =>
      withStorage(engine, async ({ config }) => {
        await assert.rejects(openDatabase(config, { migrations: [...migrations, failing] }), /failed half-way/);
        const db = await openDatabase(config);
        try {
          assert.equal(db.schemaVersion, latest);
          await assert.rejects(
            db.read("test_half_done", (trx) => trx.withTables<{ test_half_done: { x: string } }>().selectFrom("test_half_done").selectAll().execute()),
            StorageError,
          );
        } finally {
          await db.close();
        }
      }));

    it("refuse a list with a gap in its versions", () =>
      withStorage(engine, async ({ config }) => {
        await assert.rejects(openDatabase(config, { migrations: [{ ...future, version: 2 }] }), /expected 1/);
      }));

    it("are applied once when several processes start on one empty database", () =>
      withStorage(engine, async ({ config }) => {
        // Each child loads its code first, then all are told to open the database at once.
        const children = [1, 2, 3].map(() => startChild("open-database.ts", config));
        await Promise.all(children.map((child) => child.waitForLines(1)));
        for (const child of children) child.send("go");
        for (const result of await Promise.all(children.map((child) => child.done))) {
          assert.equal(result.code, 0, result.stderr);
          assert.deepEqual(result.lines, ["ready", `version ${latest}`]);
        }
        const db = await openDatabase(config);
        try {
          assert.deepEqual((await versionRows(db)).map((r) => r.version), migrations.map((m) => m.version));
        } finally {
          await db.close();
        }
      }));
  });
}
