// What a migration is, and the few schema shims where the engines' DDL differs.
import { sql } from "kysely";
import type { CreateTableBuilder, Kysely } from "kysely";
import type { Engine } from "../engine.ts";

// A migration sees the schema as it was when it was written, not today's Schema type, so it
// works on an untyped Kysely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type MigrationDb = Kysely<any>;

/**
 * One step of the schema. Versions are 1, 2, 3... with no gaps; a released migration is never
 * edited, only followed by another. `up` runs inside a transaction with the version's record.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: MigrationDb, engine: Engine): Promise<void>;
}

/**
 * Adds a 64-bit auto-increment primary key. SQLite: INTEGER PRIMARY KEY AUTOINCREMENT (the
 * rowid, never reused after a delete); PostgreSQL: a BIGINT identity column.
 */
export function addAutoIncrementId<T extends string>(
  table: CreateTableBuilder<T, string>,
  engine: Engine,
  column: string,
): CreateTableBuilder<T, string> {
  if (engine === "sqlite") {
    return table.addColumn(column, "integer", (col) => col.primaryKey().autoIncrement());
  }
  return table.addColumn(column, "bigint", (col) => col.primaryKey().generatedByDefaultAsIdentity());
}

/** Adds a flag: INTEGER NOT NULL DEFAULT 0, only 0 or 1 (see schema.ts for why not BOOLEAN). */
export function addFlagColumn<T extends string>(
  table: CreateTableBuilder<T, string>,
  column: string,
): CreateTableBuilder<T, string> {
  return table.addColumn(column, "integer", (col) =>
    col.notNull().defaultTo(0).check(sql`${sql.ref(column)} in (0, 1)`),
  );
}
