// Which build of better-sqlite3 this Node runs, and its types for the rest of storage.
//
// Two majors are installed, and each Node line loads the one that is safe on it:
// - Node 22 and later: better-sqlite3 13 (installed under the alias better-sqlite3-napi). From Node
//   24.19, node::ObjectWrap registers an environment cleanup hook and removes it in its destructor;
//   better-sqlite3 12's Statement and Database derive from that class, so a Statement collected by a
//   garbage collection that runs outside JavaScript (an idle GC, teardown) aborts the process
//   ("Assertion failed: (env) != nullptr"). Kysely prepares a statement for every query, so a busy
//   server collects them all the time. 13 is built on Node-API and has no such destructor.
// - Node 20: better-sqlite3 12. 13 declares Node >= 22, and its Node-API build crashes (SIGSEGV)
//   opening a database on Node 20.
// Both have the same JavaScript API for what Weft and Kysely use (prepare, run, all, iterate, reader,
// pragma, inTransaction, close, SqliteError with its code).
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/** The oldest Node major that loads better-sqlite3 13. */
const firstNapiNodeMajor = 22;

/** The package name this Node loads: the npm alias of 13, or 12 under its own name. */
export const sqliteDriverPackage: string =
  Number(process.versions.node.split(".")[0]) >= firstNapiNodeMajor ? "better-sqlite3-napi" : "better-sqlite3";

const require = createRequire(import.meta.url);

/** better-sqlite3's Database constructor, with SqliteError on it, from the build this Node loads. */
export const SqliteDatabase = require(sqliteDriverPackage) as typeof BetterSqlite3;

export type SqliteHandle = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;
