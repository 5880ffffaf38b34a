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
// writer (or take a second pool connection), so it throws; pass the trx down instead.
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { Kysely, sql } from "kysely";
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
import { WriteQueue } from "./write-queue.ts";

export type DatabaseConfig =
  | { engine: "sqlite"; path: string }
  | { engine: "postgres"; connectionString: string; schema?: string; poolSize?: number };

export interface OpenOptions {
  logger?: StorageLogger;
  /** PostgreSQL: how many times a write runs at most when it keeps losing conflicts. Default 10. */
  maxWriteAttempts?: number;
  /** The migrations to apply; all of Weft's by default. Tests pass fewer to simulate old code. */
  migrations?: readonly Migration[];
}

/** The handle a transaction's fn gets: Kysely, bound to the transaction's connection. */
export type Trx = Transaction<Schema>;

export interface Database {
  readonly engine: Engine;
  /** The schema version the database is at, after the migrations at open. */
  readonly schemaVersion: number;
  /** Runs fn in a write transaction named `name` (snake_case, e.g. "create_user"). */
  write<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T>;
  /** Runs fn in a read-only transaction named `name`. */
  read<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T>;
  /** Waits for the transactions in progress, then closes every connection. */
  close(): Promise<void>;
}

type Mode = "read" | "write";

/** Is the error the database's own (as opposed to one the transaction's code threw)? */
function isDriverError(err: unknown): err is Error {
  return err instanceof BetterSqlite3.SqliteError || err instanceof pg.DatabaseError;
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
  readonly #inTransaction = new AsyncLocalStorage<{ name: string; open: boolean }>();
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(engine: Engine, writer: Kysely<Schema>, reader: Kysely<Schema>, options: OpenOptions) {
    this.engine = engine;
    this.#writer = writer;
    this.#reader = reader;
    this.#logger = options.logger;
    this.#maxWriteAttempts = Math.max(1, options.maxWriteAttempts ?? 10);
  }

  /** For openDatabase only: the connection migrations run on. */
  get migrationConnection(): Kysely<Schema> {
    return this.#writer;
  }

  write<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
    return this.#track(name, "write", () =>
      this.engine === "sqlite" ? this.#queue.run(() => this.#attempt(name, "write", fn, 1)) : this.#withRetries(name, fn),
    );
  }

  read<T>(name: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
    return this.#track(name, "read", () => this.#attempt(name, "read", fn, 1));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#writer.destroy();
    if (this.#reader !== this.#writer) await this.#reader.destroy();
  }

  #track<T>(name: string, mode: Mode, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError(name, `${mode} after the database was closed`));
    const outer = this.#inTransaction.getStore();
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
      const result = await builder.execute((trx) => this.#inTransaction.run(context, () => fn(trx)));
      this.#logger?.debug(
        { transaction: name, mode, attempt, ms: Math.round(performance.now() - started) },
        "storage: transaction committed",
      );
      return result;
    } catch (err) {
      this.#logger?.debug({ transaction: name, mode, attempt, err }, "storage: transaction rolled back");
      if (isDriverError(err)) throw new StorageError(name, err.message, { cause: err });
      throw err;
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
    const dialects = openSqlite(config.path);
    const writer = new Kysely<Schema>({ dialect: dialects.writer });
    const reader = dialects.reader === undefined ? writer : new Kysely<Schema>({ dialect: dialects.reader });
    db = new KyselyDatabase("sqlite", writer, reader, options);
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
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
