// Brings a database's schema up to date at start. The schema_version table records each
// migration applied (version, name, when); the database's version is the highest recorded.
//
// Each migration runs in its own transaction together with its record, so a failed migration
// leaves the database at the previous version. Concurrent starts: on PostgreSQL a session
// advisory lock (keyed by the schema) lets one process migrate while the others wait; on SQLite
// the migration's BEGIN IMMEDIATE does the same. Either way each transaction re-reads the version
// before applying anything, so no migration is applied twice.
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { Engine } from "../engine.ts";
import { SchemaTooNewError } from "../errors.ts";
import type { StorageLogger } from "../logger.ts";
import type { Schema } from "../schema.ts";
import type { Migration, MigrationDb } from "./migration.ts";

/** First key of the advisory lock: "Weft" in ASCII, to stay clear of other users of the database. */
const advisoryLockNamespace = 0x57656674;

export interface MigrateOptions {
  engine: Engine;
  migrations: readonly Migration[];
  logger?: StorageLogger | undefined;
  now?: () => number;
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

async function ensureVersionTable(db: Kysely<Schema>): Promise<void> {
  await db.schema
    .createTable("schema_version")
    .ifNotExists()
    .addColumn("version", "integer", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("applied_ts", "bigint", (col) => col.notNull())
    .execute();
}

async function currentVersion(db: Kysely<Schema>): Promise<number> {
  const row = await db
    .selectFrom("schema_version")
    .select((eb) => eb.fn.max("version").as("version"))
    .executeTakeFirst();
  return Number(row?.version ?? 0);
}

/** Applies the pending migrations; returns the schema version the database is at afterwards. */
export async function migrate(kysely: Kysely<Schema>, options: MigrateOptions): Promise<number> {
  const { engine, migrations, logger } = options;
  const now = options.now ?? Date.now;
  checkOrder(migrations);
  const known = migrations.length;

  return await kysely.connection().execute(async (conn) => {
    if (engine === "postgres") {
      await sql`select pg_advisory_lock(${advisoryLockNamespace}, hashtext(current_schema()))`.execute(conn);
    }
    try {
      let version = 0;
      for (let step = 0; ; step++) {
        const applied = await conn.transaction().execute(async (trx) => {
          await ensureVersionTable(trx);
          const current = await currentVersion(trx);
          if (current > known) throw new SchemaTooNewError(current, known);
          version = current;
          const next = migrations[current];
          if (next === undefined) return false;
          logger?.debug({ version: next.version, migration: next.name }, "storage: applying migration");
          await next.up(trx as MigrationDb, engine);
          await trx.insertInto("schema_version").values({ version: next.version, name: next.name, applied_ts: now() }).execute();
          version = next.version;
          return true;
        });
        if (!applied) return version;
        if (step > known) throw new Error("migrations did not converge"); // a bug guard, not a state
      }
    } finally {
      if (engine === "postgres") {
        await sql`select pg_advisory_unlock(${advisoryLockNamespace}, hashtext(current_schema()))`.execute(conn);
      }
    }
  });
}
