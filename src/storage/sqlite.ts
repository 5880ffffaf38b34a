// The SQLite engine: better-sqlite3 under Kysely, one writer connection and one reader.
//
// Durability: WAL with synchronous=FULL. In WAL mode, NORMAL already survives a crash of the
// process (a committed transaction is in the WAL file, in the OS cache), but not a power loss or
// OS crash; FULL syncs the WAL at every commit, so an acknowledged write survives those too.
// Weft acknowledges writes to clients and other servers (which then hold an event we sent), so
// losing acknowledged writes is worse than the cost of one fsync per write transaction.
//
// Concurrency: WAL lets the reader connection read a committed snapshot while the writer holds
// a transaction open. Write transactions start with BEGIN IMMEDIATE, taking the write lock at once,
// so a second process (an admin command) waits on busy_timeout instead of failing half-way.
//
// The better-sqlite3 build (12 or 13, by Node line) comes from sqlite-driver.ts.
import { CompiledQuery, SqliteDialect, SqliteDriver } from "kysely";
import type { DatabaseConnection, Driver } from "kysely";
import { SqliteDatabase } from "./sqlite-driver.ts";
import type { SqliteHandle } from "./sqlite-driver.ts";

/** How long a connection waits for another process's lock before failing with SQLITE_BUSY. */
const busyTimeoutMs = 10_000;

/**
 * The WAL size (in 4 KiB pages, about 40 MiB) past which a commit copies the WAL back into the
 * database file. SQLite's default, 1000, checkpoints every few commits of the room pipeline (whose
 * batches dirty hundreds of index pages each); a larger WAL lets the pages rewritten by successive
 * commits be copied once, about halving the time commits block. Durability is unchanged: a commit
 * is synced in the WAL either way.
 */
const walAutocheckpointPages = 10_000;

/** A driver that begins transactions with the statement we choose, and never rolls back twice. */
class WeftSqliteDriver extends SqliteDriver {
  readonly #handle: SqliteHandle;
  readonly #begin: string;

  constructor(handle: SqliteHandle, begin: string) {
    super({ database: handle });
    this.#handle = handle;
    this.#begin = begin;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(this.#begin));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_BUSY in a commit...);
    // a second ROLLBACK would fail and hide the error that caused it.
    if (this.#handle.inTransaction) await super.rollbackTransaction(connection);
  }
}

class WeftSqliteDialect extends SqliteDialect {
  readonly #handle: SqliteHandle;
  readonly #begin: string;

  constructor(handle: SqliteHandle, begin: string) {
    super({ database: handle });
    this.#handle = handle;
    this.#begin = begin;
  }

  override createDriver(): Driver {
    return new WeftSqliteDriver(this.#handle, this.#begin);
  }
}

export interface SqliteDialects {
  writer: SqliteDialect;
  /** Undefined for an in-memory database: a second connection would open another database. */
  reader: SqliteDialect | undefined;
  /** The connections under the dialects, for database.ts's prepared statements (Database.query). */
  writerHandle: SqliteHandle;
  readerHandle: SqliteHandle | undefined;
}

function isInMemory(path: string): boolean {
  return path === "" || path === ":memory:";
}

export function openSqlite(path: string): SqliteDialects {
  const writer = new SqliteDatabase(path, { timeout: busyTimeoutMs });
  try {
    const mode = String(writer.pragma("journal_mode = WAL", { simple: true }));
    if (mode !== "wal" && !isInMemory(path)) {
      throw new Error(`SQLite refused WAL mode for ${path} (journal_mode is ${mode})`);
    }
    writer.pragma("synchronous = FULL");
    writer.pragma("foreign_keys = ON");
    writer.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
  } catch (err) {
    writer.close();
    throw err;
  }
  if (isInMemory(path)) {
    return { writer: new WeftSqliteDialect(writer, "begin immediate"), reader: undefined, writerHandle: writer, readerHandle: undefined };
  }
  const reader = new SqliteDatabase(path, { timeout: busyTimeoutMs, fileMustExist: true });
  reader.pragma("foreign_keys = ON");
  // db.read must not write: on SQLite the reader would otherwise become a second writer.
  reader.pragma("query_only = ON");
  return {
    writer: new WeftSqliteDialect(writer, "begin immediate"),
    reader: new WeftSqliteDialect(reader, "begin"),
    writerHandle: writer,
    readerHandle: reader,
  };
}
