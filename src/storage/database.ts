// The database: one SQL source (Kysely) over SQLite or PostgreSQL, and named transactions.
//
// Every access goes through db.read(name, fn) or db.write(name, fn). The name is what logs and
// errors say, so a slow or failing query can be found by what it was doing.
//
// - SQLite: one writer. Write transactions wait their turn in a FIFO queue and run on the one
//   writer connection; reads run on a separate connection and see the last committed state
//   (except in an in-memory database, which has only the one connection). One process per file.
// - PostgreSQL: a pool. Writes are SERIALIZABLE, so code written for the single SQLite writer
//   stays correct when PostgreSQL runs writes side by side; a write that loses a conflict
//   (serialization failure, deadlock) is run again, a bounded number of times. So on PostgreSQL
//   `fn` may run more than once: it must do nothing outside the transaction. Hot rows written by
//   every transaction (a counter) make writers conflict: use a sequence for those.
//   Reads are REPEATABLE READ, READ ONLY: one snapshot for the whole read.
//
// Where the engines agree, stores use Kysely as it is: INSERT ... ON CONFLICT (upserts) and
// RETURNING work on both. Where they differ, the shims are: migrations/migration.ts (DDL),
// schema.ts (flags as 0/1, JSON as text), errors.ts (driver error codes), and db.engine.
//
// Transactions do not nest: calling db.read or db.write inside fn would deadlock the SQLite
// writer (or take a second pool connection); pass the trx down instead. The check that refuses it
// is on in development (OpenOptions.checkNesting).
//
// db.query(trx, sql, params) is the escape hatch for a store's hot path (the room event pipeline
// writes hundreds of rows a batch): plain SQL written once for both engines with `?` placeholders,
// kept prepared on each SQLite connection (sqlite.ts) instead of built by Kysely every time.
// db.readOnce(name, sql, params) runs one such SELECT with no transaction around it, for the
// hottest single reads.
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { CompiledQuery, Kysely, sql } from "kysely";
import type { Transaction } from "kysely";
import type { Engine } from "./engine.ts";
import { StorageError, isSerializationFailure } from "./errors.ts";
import type { StorageLogger } from "./logger.ts";
import type { Migration } from "./migrations/migration.ts";
import { migrations as allMigrations } from "./migrations/index.ts";
import { migrate } from "./migrations/runner.ts";
import { openPostgres } from "./postgres.ts";
import type { Schema } from "./schema.ts";
import { openSqlite } from "./sqlite.ts";
import type { FileSync, WalSync } from "./wal-sync.ts";
import type { PreparedStatementCache } from "./sqlite.ts";
import { SqliteDatabase } from "./sqlite-driver.ts";
import { WriteQueue } from "./write-queue.ts";

export type DatabaseConfig =
  | { engine: "sqlite"; path: string }
  | { engine: "postgres"; connectionString: string; schema?: string; poolSize?: number };

export interface OpenOptions {
  logger?: StorageLogger;
  /** PostgreSQL: how many times a write runs at most when it keeps losing conflicts. Default 10. */
  maxWriteAttempts?: number;
  /**
   * Refuse a transaction started inside another's fn (on SQLite a write inside a write waits for
   * itself for ever). Knowing which fn is running takes an AsyncLocalStorage, which costs every
   * promise of the process an async hook, so it is a development check: on when
   * WEFT_CHECK_TRANSACTION_NESTING=1 (the test runner sets it) unless given here.
   */
  checkNesting?: boolean;
  /** The migrations to apply; all of Weft's by default. Tests pass fewer to simulate old code. */
  migrations?: readonly Migration[];
  /** SQLite: how the WAL is synced after each write (fdatasync); tests pass one that records its calls. */
  fileSync?: FileSync;
}

export interface WriteOptions {
  /**
   * More writes are expected at once (a busy room): on SQLite, the commit's WAL sync runs off the
   * main thread, shared with the commits around it, so the event loop takes in the next requests
   * meanwhile (wal-sync.ts). The write is durable when the promise resolves either way.
   */
  readonly syncInBackground?: boolean;
}

/** The handle a transaction's fn gets: Kysely, bound to the transaction's connection. */
export type Trx = Transaction<Schema>;

/** A value db.query binds: text, a number (flags are 0/1, schema.ts), bytes, or NULL. */
export type SqlValue = string | number | Uint8Array | null;

export interface Database {
  readonly engine: Engine;
  /** The schema version the database is at, after the migrations at open. */
  readonly schemaVersion: number;
  /**
   * Runs fn in a write transaction named `name` (snake_case, e.g. "create_user"); it resolves once
   * the transaction is committed and durable.
   */
  write<T>(name: string, fn: (trx: Trx) => Promise<T>, options?: WriteOptions): Promise<T>;
  /** Runs fn in a read-only transaction named `name`. */
  read<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T>;
  /**
   * Runs one SELECT on its own, as db.query's SQL, named `name`: the statement alone
   * sees one committed snapshot, with no transaction around it. For the hottest one-statement reads
   * (every message sent asks one), where a read transaction's begin, commit and connection hand-over
   * cost more than the query.
   */
  readOnce<R>(name: string, sql: string, params: readonly SqlValue[]): Promise<R[]>;
  /**
   * Runs one SQL statement in `trx` (a transaction of this database, while its fn runs) and returns
   * its rows: those of a SELECT or a RETURNING, none otherwise. For hot paths only, where building
   * the query costs more than running it; the SQL must mean the same on both engines. Placeholders
   * are `?` (numbered $1, $2... for PostgreSQL, so no `?` may appear elsewhere in the text). SQLite
   * prepares each distinct text once per connection: keep the texts few (fixed row counts).
   */
  query<R>(trx: Trx, sql: string, params: readonly SqlValue[]): Promise<R[]>;
  /**
   * db.query once for each list of parameters, in order, every run's rows returned together. On
   * SQLite that is one loop over the prepared statement (cheaper than a multi-row statement); on
   * PostgreSQL a round trip each, so stores use multi-row statements there instead.
   */
  queryEach<R>(trx: Trx, sql: string, paramLists: ReadonlyArray<readonly SqlValue[]>): Promise<R[]>;
  /** Waits for the transactions in progress, then closes every connection. */
  close(): Promise<void>;
}

type Mode = "read" | "write";

/** How many texts numbered for PostgreSQL are remembered; past that it starts over (texts are meant to be few). */
const MAX_PREPARED = 512;

/** db.query on a SQLite connection: its statements come from the connection's cache, shared with Kysely. */
class PreparedStatements {
  readonly #statements: PreparedStatementCache;

  constructor(statements: PreparedStatementCache) {
    this.#statements = statements;
  }

  run<R>(text: string, params: readonly SqlValue[]): R[] {
    const statement = this.#statements.prepare(text);
    // An array binds its items as the anonymous (`?`) parameters.
    if (statement.reader) return statement.all(params) as R[];
    statement.run(params);
    return [];
  }

  /** Is the connection inside a transaction (one whose fn is awaiting)? */
  get inTransaction(): boolean {
    return this.#statements.handle.inTransaction;
  }

  runEach<R>(text: string, paramLists: ReadonlyArray<readonly SqlValue[]>): R[] {
    const statement = this.#statements.prepare(text);
    const rows: R[] = [];
    for (const params of paramLists) {
      if (statement.reader) for (const row of statement.all(params) as R[]) rows.push(row);
      else statement.run(params);
    }
    return rows;
  }
}

const numberedTexts = new Map<string, string>();

/** The text with its `?` placeholders numbered for PostgreSQL ($1, $2...), remembered. */
function numberedPlaceholders(text: string): string {
  let numbered = numberedTexts.get(text);
  if (numbered === undefined) {
    let n = 0;
    numbered = text.replace(/\?/g, () => `$${++n}`);
    if (numberedTexts.size >= MAX_PREPARED) numberedTexts.clear();
    numberedTexts.set(text, numbered);
  }
  return numbered;
}

/** What db.query needs of a transaction while its fn runs. */
interface OpenTransaction {
  readonly context: { readonly name: string; readonly open: boolean };
  /** SQLite: the prepared statements of the transaction's connection. */
  readonly prepared: PreparedStatements | undefined;
}

/** Is the error the database's own (as opposed to one the transaction's code threw)? */
function isDriverError(err: unknown): err is Error {
  return err instanceof SqliteDatabase.SqliteError || err instanceof pg.DatabaseError;
}

/** What to rethrow for an error of transaction `name`: the database's own as a StorageError naming it, anything else as is. */
function storageErrorOf(name: string, err: unknown): unknown {
  return isDriverError(err) ? new StorageError(name, err.message, { cause: err }) : err;
}

/** A commit whose WAL could not be synced: it is in the database, but might not survive a power loss. */
function unsyncedError(name: string, err: unknown): StorageError {
  return new StorageError(name, `committed, but syncing the WAL failed: ${(err as Error).message}`, { cause: err });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with full jitter, so writers that collided do not collide again in step. */
function retryDelayMs(attempt: number): number {
  return Math.random() * Math.min(200, 2 ** attempt);
}

class KyselyDatabase implements Database {
  readonly engine: Engine;
  schemaVersion = 0;
  readonly #writer: Kysely<Schema>;
  readonly #reader: Kysely<Schema>;
  readonly #logger: StorageLogger | undefined;
  readonly #maxWriteAttempts: number;
  readonly #queue = new WriteQueue();
  /** The transaction whose fn is running, when nesting is checked (OpenOptions.checkNesting). */
  readonly #inTransaction: AsyncLocalStorage<{ name: string; open: boolean }> | undefined;
  readonly #running = new Set<Promise<unknown>>();
  /** SQLite: prepared statements of the writer connection and of the reader (the same one in memory). */
  readonly #prepared: { readonly write: PreparedStatements; readonly read: PreparedStatements } | undefined;
  readonly #open = new WeakMap<Trx, OpenTransaction>();
  /** SQLite on a file: syncs the WAL after each write's commit (the writer runs synchronous=NORMAL). */
  readonly #walSync: WalSync | undefined;
  #closed = false;

  constructor(
    engine: Engine,
    writer: Kysely<Schema>,
    reader: Kysely<Schema>,
    options: OpenOptions,
    statements?: { writer: PreparedStatementCache; reader: PreparedStatementCache | undefined },
    walSync?: WalSync,
  ) {
    this.engine = engine;
    this.#writer = writer;
    this.#reader = reader;
    this.#logger = options.logger;
    this.#maxWriteAttempts = Math.max(1, options.maxWriteAttempts ?? 10);
    this.#walSync = walSync;
    this.#inTransaction = (options.checkNesting ?? process.env["WEFT_CHECK_TRANSACTION_NESTING"] === "1") ? new AsyncLocalStorage() : undefined;
    if (statements !== undefined) {
      const write = new PreparedStatements(statements.writer);
      this.#prepared = { write, read: statements.reader === undefined ? write : new PreparedStatements(statements.reader) };
    }
  }

  /** For openDatabase only: the connection migrations run on. */
  get migrationConnection(): Kysely<Schema> {
    return this.#writer;
  }

  /** For openDatabase only: makes what the migrations wrote durable. */
  syncMigrations(): void {
    this.#walSync?.now();
  }

  write<T>(name: string, fn: (trx: Trx) => Promise<T>, options?: WriteOptions): Promise<T> {
    if (this.engine !== "sqlite") return this.#track(name, "write", () => this.#withRetries(name, fn));
    const wal = this.#walSync;
    if (wal === undefined) return this.#track(name, "write", () => this.#queue.run(() => this.#attempt(name, "write", fn, 1)));
    if (options?.syncInBackground === true) {
      return this.#track(name, "write", async () => {
        // The next writer may start while this commit's sync runs.
        const result = await this.#queue.run(() => this.#attempt(name, "write", fn, 1));
        await wal.soon().catch((err: unknown) => Promise.reject(unsyncedError(name, err)));
        return result;
      });
    }
    return this.#track(name, "write", () =>
      this.#queue.run(async () => {
        const result = await this.#attempt(name, "write", fn, 1);
        try {
          wal.now();
        } catch (err) {
          throw unsyncedError(name, err);
        }
        return result;
      }),
    );
  }

  read<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
    return this.#track(name, "read", () => this.#attempt(name, "read", fn, 1));
  }

  async readOnce<R>(name: string, text: string, params: readonly SqlValue[]): Promise<R[]> {
    // It runs outside any read-only transaction, on SQLite maybe on the writer: a SELECT only.
    if (!/^\s*select\b/i.test(text)) throw new StorageError(name, "readOnce runs one SELECT");
    const prepared = this.#prepared;
    if (prepared !== undefined) {
      if (this.#closed) throw new StorageError(name, "read after the database was closed");
      // SQLite: on a connection not inside a transaction, so the statement sees the last commit:
      // the writer's when it is idle (its page cache holds what the last commits wrote, which the
      // reader's loses at every commit), else the reader's. When both are busy, a read transaction.
      const connection = !prepared.write.inTransaction ? prepared.write : !prepared.read.inTransaction ? prepared.read : undefined;
      if (connection === undefined) return await this.read(name, (trx) => this.query<R>(trx, text, params));
      try {
        return connection.run<R>(text, params);
      } catch (err) {
        throw storageErrorOf(name, err);
      }
    }
    // PostgreSQL: one statement on a pool connection is a transaction of its own.
    return await this.#track(name, "read", async () => {
      try {
        return (await this.#reader.executeQuery<R>(CompiledQuery.raw(numberedPlaceholders(text), [...params]))).rows as R[];
      } catch (err) {
        throw storageErrorOf(name, err);
      }
    });
  }

  async query<R>(trx: Trx, text: string, params: readonly SqlValue[]): Promise<R[]> {
    const prepared = this.#openTransaction(trx).prepared;
    // SQLite: the connection is the transaction's alone while its fn runs (the writer behind the
    // write queue, the reader behind Kysely's connection mutex), so its statements run directly.
    if (prepared !== undefined) return prepared.run<R>(text, params);
    const result = await trx.executeQuery<R>(CompiledQuery.raw(numberedPlaceholders(text), [...params]));
    return result.rows as R[];
  }

  async queryEach<R>(trx: Trx, text: string, paramLists: ReadonlyArray<readonly SqlValue[]>): Promise<R[]> {
    const prepared = this.#openTransaction(trx).prepared;
    if (prepared !== undefined) return prepared.runEach<R>(text, paramLists);
    const rows: R[] = [];
    const numbered = numberedPlaceholders(text);
    for (const params of paramLists) {
      const result = await trx.executeQuery<R>(CompiledQuery.raw(numbered, [...params]));
      for (const row of result.rows) rows.push(row);
    }
    return rows;
  }

  #openTransaction(trx: Trx): OpenTransaction {
    const open = this.#open.get(trx);
    if (open === undefined || !open.context.open) {
      throw new StorageError(open?.context.name ?? "query", "db.query with a transaction that is not running (or not this database's)");
    }
    return open;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#writer.destroy();
    if (this.#reader !== this.#writer) await this.#reader.destroy();
    this.#walSync?.close();
  }

  #track<T>(name: string, mode: Mode, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError(name, `${mode} after the database was closed`));
    const outer = this.#inTransaction?.getStore();
    if (outer?.open) {
      return Promise.reject(
        new StorageError(name, `${mode} started inside transaction "${outer.name}": transactions do not nest, pass its trx down`),
      );
    }
    const promise = run();
    this.#running.add(promise);
    const forget = (): void => {
      this.#running.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  async #withRetries<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt(name, "write", fn, attempt);
      } catch (err) {
        if (!(err instanceof StorageError && isSerializationFailure(err))) throw err;
        if (attempt >= this.#maxWriteAttempts) {
          this.#logger?.warn({ transaction: name, attempts: attempt, code: err.code }, "storage: write kept conflicting, giving up");
          throw err;
        }
        this.#logger?.debug({ transaction: name, attempt, code: err.code }, "storage: write conflicted, running it again");
        await sleep(retryDelayMs(attempt));
      }
    }
  }

  async #attempt<T>(name: string, mode: Mode, fn: (trx: Trx) => Promise<T>, attempt: number): Promise<T> {
    const started = performance.now();
    const context = { name, open: true };
    let builder = (mode === "write" ? this.#writer : this.#reader).transaction();
    if (this.engine === "postgres") {
      builder = mode === "write"
        ? builder.setIsolationLevel("serializable")
        : builder.setIsolationLevel("repeatable read").setAccessMode("read only");
    }
    try {
      const prepared = this.#prepared?.[mode];
      const result = await builder.execute((trx) => {
        this.#open.set(trx, { context, prepared });
        return this.#inTransaction === undefined ? fn(trx) : this.#inTransaction.run(context, () => fn(trx));
      });
      this.#logger?.debug(
        { transaction: name, mode, attempt, ms: Math.round(performance.now() - started) },
        "storage: transaction committed",
      );
      return result;
    } catch (err) {
      this.#logger?.debug({ transaction: name, mode, attempt, err }, "storage: transaction rolled back");
      throw storageErrorOf(name, err);
    } finally {
      context.open = false;
    }
  }
}

async function checkSchemaExists(db: Kysely<Schema>, schema: string): Promise<void> {
  const found = await sql<{ one: number }>`select 1 as one from pg_namespace where nspname = ${schema}`.execute(db);
  if (found.rows.length === 0) throw new Error(`PostgreSQL schema "${schema}" does not exist: create it first`);
}

/** Opens the database, applies the pending migrations, and returns it ready for use. */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  let db: KyselyDatabase;
  if (config.engine === "sqlite") {
    const dialects = openSqlite(config.path, options.fileSync);
    const writer = new Kysely<Schema>({ dialect: dialects.writer });
    const reader = dialects.reader === undefined ? writer : new Kysely<Schema>({ dialect: dialects.reader });
    db = new KyselyDatabase("sqlite", writer, reader, options, { writer: dialects.writerStatements, reader: dialects.readerStatements }, dialects.walSync);
  } else {
    const kysely = new Kysely<Schema>({ dialect: openPostgres(config, options.logger) });
    db = new KyselyDatabase("postgres", kysely, kysely, options);
  }
  try {
    if (config.engine === "postgres" && config.schema !== undefined) {
      await checkSchemaExists(db.migrationConnection, config.schema);
    }
    db.schemaVersion = await migrate(db.migrationConnection, {
      engine: db.engine,
      migrations: options.migrations ?? allMigrations,
      logger: options.logger,
    });
    db.syncMigrations();
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
