// The PostgreSQL engine: a pg Pool under Kysely.
//
// BIGINT (int8) columns come back as JS numbers, not strings: our BIGINTs are millisecond
// timestamps, stream positions and row ids, all far below 2^53. A value beyond that fails its
// query rather than losing precision silently.
//
// Durability is the server's: with its default synchronous_commit=on, a COMMIT is acknowledged
// only once it is flushed to disk, so it survives a crash of Weft and of the server.
import pg from "pg";
import { CompiledQuery, PostgresDialect } from "kysely";
import type { StorageLogger } from "./logger.ts";

export interface PostgresOptions {
  connectionString: string;
  /** Tables live in this schema (it must exist); otherwise in the connection's default search_path. */
  schema?: string;
  poolSize?: number;
}

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`BIGINT ${text} does not fit a JS number exactly`);
  }
  return value;
}

/** Double-quotes a PostgreSQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function openPostgres(options: PostgresOptions, logger: StorageLogger | undefined): PostgresDialect {
  // Per pool, not pg.types.setTypeParser: that would change every pg user in the process.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, parseInt8);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    types,
  });
  // An idle client losing its connection emits on the pool; unheard, that would crash the process.
  pool.on("error", (err) => logger?.warn({ err }, "storage: idle PostgreSQL connection failed"));
  const schema = options.schema;
  return new PostgresDialect({
    pool,
    onCreateConnection: schema === undefined
      ? undefined
      : async (connection) => {
          await connection.executeQuery(CompiledQuery.raw(`set search_path to ${quoteIdentifier(schema)}`));
        },
  });
}
