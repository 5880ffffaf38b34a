// The SQLite engine: better-sqlite3 under Kysely, one writer connection and one reader.
//
// Durability: WAL, and every write transaction's frames synced before it is acknowledged. In WAL
// mode, synchronous=NORMAL already survives a crash of the process (a committed transaction is in
// the WAL file, in the OS cache), but not a power loss or OS crash. Weft acknowledges writes to
// clients and other servers (which then hold an event we sent), so losing acknowledged writes is
// worse than the cost of one fsync per write transaction. The writer runs NORMAL and Database.write
// syncs the WAL after COMMIT (wal-sync.ts): on the main thread as FULL would, or, for a busy room,
// on the thread pool while the event loop goes on.
//
// Concurrency: WAL lets the reader connection read a committed snapshot while the writer holds
// a transaction open. Write transactions start with BEGIN IMMEDIATE, taking the write lock at once,
// so a second process (an admin command) waits on busy_timeout instead of failing half-way.
//
// The better-sqlite3 build (12 or 13, by Node line) comes from sqlite-driver.ts.
//
// Prepared statements: Kysely prepares a statement for every query it runs, and preparing costs
// more than running a typical store query. With better-sqlite3 13 the difference is large, and a
// dropped statement's memory waits for the garbage collector (100,000 selects by key through Kysely,
// Node 22: 15 us of CPU a query and 490 MiB resident, against 4.7 us and 88 MiB when statements are
// kept; 12 goes from 7.7 to 4.7 us). Query texts repeat (values are bound parameters), so each
// connection keeps its recent statements by text, for Kysely and for Database.query alike.
import { CompiledQuery, SqliteDialect, SqliteDriver } from "kysely";
import type { DatabaseConnection, Driver, SqliteDatabase as KyselySqliteDatabase } from "kysely";
import { SqliteDatabase } from "./sqlite-driver.ts";
import { WalSync } from "./wal-sync.ts";
import type { FileSync } from "./wal-sync.ts";
import type { SqliteHandle, SqliteStatement } from "./sqlite-driver.ts";

/** How long a connection waits for another process's lock before failing with SQLITE_BUSY. */
const busyTimeoutMs = 10_000;

/**
 * The WAL size (in 4 KiB pages) at which a commit copies the WAL back into the database file:
 * SQLite's default. After that checkpoint the next commit starts the WAL over from its beginning,
 * rewriting blocks the file already has. A larger WAL (we had 10,000 pages) means commits that
 * append new blocks to a growing file, and syncing those costs the filesystem a journal commit of
 * the new size and blocks each time: a message's commit of 16 pages took 0.7-1.0 ms in a growing
 * WAL against 0.4-0.6 in a reused one (sync benchmark, busy machine), and the room pipeline gained
 * nothing from the larger WAL (50,000 events: 4,824/s at 1,000 pages, 4,700/s at 10,000). A
 * checkpointing thread was tried too: its syncs of the database file delayed the WAL's, and the
 * send-to-sync p99 got worse.
 */
const walAutocheckpointPages = 1000;

/** How many prepared statements a connection keeps; past that, the least recently used is dropped. */
const keptStatements = 512;

/** A connection with its recently used prepared statements, by SQL text; what Kysely is given. */
export class PreparedStatementCache implements KyselySqliteDatabase {
  readonly handle: SqliteHandle;
  /** In order of use, the most recent last. */
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(handle: SqliteHandle) {
    this.handle = handle;
  }

  prepare(text: string): SqliteStatement {
    const kept = this.#statements.get(text);
    if (kept !== undefined) {
      // A statement still being iterated (a streamed query) cannot start another run meanwhile.
      if (kept.busy) return this.handle.prepare(text);
      this.#statements.delete(text);
      this.#statements.set(text, kept);
      return kept;
    }
    const statement = this.handle.prepare(text);
    if (this.#statements.size >= keptStatements) {
      const leastRecent = this.#statements.keys().next();
      if (leastRecent.done !== true) this.#statements.delete(leastRecent.value);
    }
    this.#statements.set(text, statement);
    return statement;
  }

  close(): void {
    this.#statements.clear();
    this.handle.close();
  }
}

/** A driver that begins transactions with the statement we choose, and never rolls back twice. */
class WeftSqliteDriver extends SqliteDriver {
  readonly #handle: SqliteHandle;
  readonly #begin: string;

  constructor(statements: PreparedStatementCache, begin: string) {
    super({ database: statements });
    this.#handle = statements.handle;
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
  readonly #statements: PreparedStatementCache;
  readonly #begin: string;

  constructor(statements: PreparedStatementCache, begin: string) {
    super({ database: statements });
    this.#statements = statements;
    this.#begin = begin;
  }

  override createDriver(): Driver {
    return new WeftSqliteDriver(this.#statements, this.#begin);
  }
}

export interface SqliteDialects {
  writer: SqliteDialect;
  /** Undefined for an in-memory database: a second connection would open another database. */
  reader: SqliteDialect | undefined;
  /** The connections under the dialects with their statements, which Database.query shares. */
  writerStatements: PreparedStatementCache;
  readerStatements: PreparedStatementCache | undefined;
  /** Undefined for an in-memory database, which has no WAL and nothing to make durable. */
  walSync: WalSync | undefined;
}

function isInMemory(path: string): boolean {
  return path === "" || path === ":memory:";
}

/**
 * PRAGMA journal_mode = WAL, tried again while another process holds the database: the switch can
 * answer SQLITE_BUSY at once, without waiting on busy_timeout (seen when several processes open one
 * new database together), so it is retried here until busy_timeout would have run out.
 */
function enableWal(db: SqliteHandle): string {
  const giveUpAt = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return String(db.pragma("journal_mode = WAL", { simple: true }));
    } catch (err) {
      if ((err as { code?: unknown }).code !== "SQLITE_BUSY" || Date.now() >= giveUpAt) throw err;
      // A short synchronous pause: opening the database is synchronous, and this is start-up only.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

export function openSqlite(path: string, fileSync?: FileSync): SqliteDialects {
  const writer = new SqliteDatabase(path, { timeout: busyTimeoutMs });
  try {
    const mode = enableWal(writer);
    if (mode !== "wal" && !isInMemory(path)) {
      throw new Error(`SQLite refused WAL mode for ${path} (journal_mode is ${mode})`);
    }
    // Database.write syncs the WAL (wal-sync.ts).
    writer.pragma("synchronous = NORMAL");
    writer.pragma("foreign_keys = ON");
    writer.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
  } catch (err) {
    writer.close();
    throw err;
  }
  const writerStatements = new PreparedStatementCache(writer);
  if (isInMemory(path)) {
    return { writer: new WeftSqliteDialect(writerStatements, "begin immediate"), reader: undefined, writerStatements, readerStatements: undefined, walSync: undefined };
  }
  const reader = new SqliteDatabase(path, { timeout: busyTimeoutMs, fileMustExist: true });
  reader.pragma("foreign_keys = ON");
  // db.read must not write: on SQLite the reader would otherwise become a second writer.
  reader.pragma("query_only = ON");
  const readerStatements = new PreparedStatementCache(reader);
  return {
    writer: new WeftSqliteDialect(writerStatements, "begin immediate"),
    reader: new WeftSqliteDialect(readerStatements, "begin"),
    writerStatements,
    readerStatements,
    walSync: new WalSync(path, fileSync),
  };
}
