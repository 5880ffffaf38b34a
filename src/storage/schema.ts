// The tables as Kysely sees them: column names and the JS types both engines hand back.
// Conventions, the same on SQLite and PostgreSQL:
// - flags are INTEGER 0/1 (SQLite has no boolean, and better-sqlite3 cannot bind one);
// - timestamps are BIGINT milliseconds since the epoch, read as JS numbers;
// - JSON is TEXT, stored exactly as given (jsonb would reorder keys, and events need their bytes).
// A migration adds a table; the store that owns it adds its interface here.
import type { Generated } from "kysely";

/** 0 or 1: a boolean column. */
export type Flag = number;

export interface SchemaVersionTable {
  version: number;
  name: string;
  applied_ts: number;
}

export interface UsersTable {
  user_id: string;
  password_hash: string | null;
  is_admin: Generated<Flag>;
  is_guest: Generated<Flag>;
  deactivated: Generated<Flag>;
  created_ts: number;
  displayname: string | null;
  avatar_url: string | null;
}

export interface DevicesTable {
  user_id: string;
  device_id: string;
  display_name: string | null;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  created_ts: number;
}

export interface AccessTokensTable {
  id: Generated<number>;
  token_hash: string;
  user_id: string;
  device_id: string | null;
  created_ts: number;
  expires_ts: number | null;
  refresh_token_id: number | null;
}

export interface Schema {
  schema_version: SchemaVersionTable;
  users: UsersTable;
  devices: DevicesTable;
  access_tokens: AccessTokensTable;
}

export function toFlag(value: boolean): Flag {
  return value ? 1 : 0;
}

/** Reads a flag column, or a boolean expression (PostgreSQL answers true/false, SQLite 1/0). */
export function fromFlag(value: number | boolean | null | undefined): boolean {
  return value === true || value === 1;
}
