// "This text holds that text anywhere", the same on both engines: case-sensitive, and with no LIKE
// pattern characters to escape (LIKE ignores case on SQLite, and `%` or `_` in what is searched
// for would be wildcards).
import { sql, type Expression, type SqlBool } from "kysely";
import type { Engine } from "./engine.ts";

export function containsText(engine: Engine, text: Expression<unknown>, part: string): Expression<SqlBool> {
  return engine === "sqlite" ? sql<SqlBool>`instr(${text}, ${part}) > 0` : sql<SqlBool>`strpos(${text}, ${part}) > 0`;
}

/** Whether the user's ID or display name (`users`' columns) holds `part`, whatever the case. */
export function userIdOrNameContains(engine: Engine, part: string): Expression<SqlBool> {
  const text = part.toLowerCase();
  return sql<SqlBool>`(${containsText(engine, sql`lower(${sql.ref("users.user_id")})`, text)} or ${containsText(engine, sql`lower(coalesce(${sql.ref("users.displayname")}, ''))`, text)})`;
}
