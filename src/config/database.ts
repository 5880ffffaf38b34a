// `database`, in Synapse's shape (`name: sqlite3 | psycopg2` with `args`), normalised to the engine
// and what it needs to connect.
import { resolvePath } from "./section.ts";
import type { Section } from "./section.ts";
import type { DatabaseConfig } from "./types.ts";

/** libpq parameters Synapse passes through from `args` that node-postgres understands in a URL. */
const PASSED_THROUGH = ["sslmode", "sslrootcert", "sslcert", "sslkey", "application_name", "connect_timeout"];

export function readDatabase(s: Section, defaultSqlitePath: string): DatabaseConfig {
  const name = s.string("name") ?? s.fail("name", "is required (sqlite3 or psycopg2)");
  // Synapse-level options whose work Weft does differently.
  s.ignore("txn_limit", "is Synapse-only");
  s.ignore("allow_unsafe_locale", "is Synapse-only");
  let config: DatabaseConfig;
  if (name === "sqlite3") config = readSqlite(s, defaultSqlitePath);
  else if (name === "psycopg2") config = readPostgres(s);
  else s.fail("name", `must be sqlite3 or psycopg2, got ${JSON.stringify(name)}`);
  s.finish();
  return config;
}

function readSqlite(s: Section, defaultPath: string): DatabaseConfig {
  const args = s.section("args");
  const file = args?.string("database");
  args?.ignore("cp_min", "has no meaning for SQLite");
  args?.ignore("cp_max", "has no meaning for SQLite");
  args?.finish();
  if (file === undefined) return { engine: "sqlite", path: defaultPath };
  // ":memory:" names no file; keep it as written.
  return { engine: "sqlite", path: file === ":memory:" ? file : resolvePath(s.ctx.baseDir, file) };
}

function readPostgres(s: Section): DatabaseConfig {
  const args = s.section("args") ?? s.fail("args", "is required for psycopg2 (url, or user/password/host/port/dbname)");
  args.ignore("cp_min", "is not needed (the pool grows on demand up to cp_max)");
  args.ignore("cp_reconnect", "is not needed (the pool reconnects on its own)");
  const poolSize = args.has("cp_max") ? args.integer("cp_max", 0, 1) : undefined;

  let connectionString: string;
  const url = args.string("url");
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) args.fail("url", "must be a postgres:// or postgresql:// URL");
    connectionString = url;
  } else {
    connectionString = postgresUrl(args);
  }
  args.finish();
  return poolSize === undefined ? { engine: "postgres", connectionString } : { engine: "postgres", connectionString, poolSize };
}

/** Builds a URL from psycopg2's keyword arguments. */
function postgresUrl(args: Section): string {
  const user = args.string("user");
  const password = args.string("password");
  const host = args.string("host");
  const port = args.has("port") ? readPort(args) : undefined;
  const dbname = args.string("dbname");
  const database = args.string("database"); // psycopg2 accepts both spellings
  if (dbname !== undefined && database !== undefined) args.fail("database", "give dbname or database, not both");
  const name = dbname ?? database ?? args.fail("dbname", "is required (or url)");

  const params = new URLSearchParams();
  let authority = "";
  if (user !== undefined) authority = encodeURIComponent(user) + (password === undefined ? "" : `:${encodeURIComponent(password)}`) + "@";
  // A host starting with "/" is a UNIX socket folder, which a URL can only carry as a parameter.
  if (host?.startsWith("/") === true) {
    params.set("host", host);
    if (port !== undefined) params.set("port", String(port));
  } else {
    if (host !== undefined) authority += host.includes(":") ? `[${host}]` : host;
    if (port !== undefined) authority += `${host === undefined ? "localhost" : ""}:${port}`;
  }
  for (const key of PASSED_THROUGH) {
    const value = args.value(key);
    if (value === undefined) continue;
    if (typeof value !== "string" && typeof value !== "number") args.fail(key, "must be a string or number");
    params.set(key, String(value));
  }
  const query = params.size > 0 ? `?${params.toString()}` : "";
  return `postgresql://${authority}/${encodeURIComponent(name)}${query}`;
}

function readPort(args: Section): number {
  const raw = args.value("port");
  const port = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    args.fail("port", "must be an integer from 1 to 65535");
  }
  return port;
}
