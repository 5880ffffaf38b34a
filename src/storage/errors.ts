// Errors of the storage layer, and the few driver error codes stores need to recognise.
// SQLite reports constraint errors as SQLITE_CONSTRAINT_* codes, PostgreSQL as SQLSTATE codes;
// these helpers hide that difference so a store never looks at a driver's error directly.

/** A database error, carrying the name of the transaction it happened in. */
export class StorageError extends Error {
  /** The name given to db.read or db.write. */
  readonly transaction: string;
  /** The driver's error code (an SQLITE_* code or a PostgreSQL SQLSTATE), when there is one. */
  readonly code: string | undefined;

  constructor(transaction: string, message: string, options: { cause?: unknown; code?: string } = {}) {
    super(`storage: transaction "${transaction}": ${message}`, { cause: options.cause });
    this.name = "StorageError";
    this.transaction = transaction;
    this.code = options.code ?? driverCode(options.cause);
  }
}

/** The database holds a schema newer than this build knows: running on it could corrupt it. */
export class SchemaTooNewError extends Error {
  readonly databaseVersion: number;
  readonly knownVersion: number;

  constructor(databaseVersion: number, knownVersion: number) {
    super(
      `the database schema is at version ${databaseVersion}, but this build of Weft only knows ` +
        `versions up to ${knownVersion}: run a newer Weft, or restore a backup taken before the upgrade`,
    );
    this.name = "SchemaTooNewError";
    this.databaseVersion = databaseVersion;
    this.knownVersion = knownVersion;
  }
}

/** The driver's error code of err or of any error in its cause chain. */
export function driverCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const uniqueViolationCodes = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "23505"]);

/** A UNIQUE or PRIMARY KEY constraint refused a row. */
export function isUniqueViolation(err: unknown): boolean {
  const code = driverCode(err);
  return code !== undefined && uniqueViolationCodes.has(code);
}

/** PostgreSQL gave up on a transaction that may succeed if run again: serialization failure or deadlock. */
export function isSerializationFailure(err: unknown): boolean {
  const code = driverCode(err);
  return code === "40001" || code === "40P01";
}
