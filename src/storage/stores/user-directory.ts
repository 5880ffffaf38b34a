// The user directory (client-server-api#user-directory) read from what is stored already: the users
// joined to a room the searcher is joined to or to one of the given open rooms, each with the
// display name and avatar of their latest join. No table of its own, so never out of step with the
// rooms.
import { sql } from "kysely";
import type { Database } from "../database.ts";

export interface DirectoryUser {
  readonly userId: string;
  readonly displayName: string | undefined;
  readonly avatarUrl: string | undefined;
}

/** `%`, `_` and `\` stand for themselves in a LIKE pattern with ESCAPE '\'. */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class UserDirectoryStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Up to `limit` users visible to `searcher` whose user ID or display name contains every word of
   * `words` (lower case), ordered by user ID.
   */
  async search(searcher: string, openRooms: readonly string[], words: readonly string[], limit: number): Promise<DirectoryUser[]> {
    // The member event's content, per engine: SQLite's JSON functions, PostgreSQL's jsonb.
    const content = (field: string) =>
      this.#db.engine === "sqlite" ? sql<string | null>`json_extract(e.json, ${`$.content.${field}`})` : sql<string | null>`(e.json::jsonb -> 'content' ->> ${field})`;
    const rows = await this.#db.read("search_user_directory", async (trx) => {
      const latest = trx
        .selectFrom("room_memberships as m")
        .innerJoin("events as e", "e.event_id", "m.event_id")
        .select([
          "m.user_id as user_id",
          content("displayname").as("display_name"),
          content("avatar_url").as("avatar_url"),
          sql<number>`row_number() over (partition by m.user_id order by m.stream_ordering desc)`.as("n"),
        ])
        .where("m.membership", "=", "join")
        .where((eb) =>
          eb.or([
            eb("m.room_id", "in", eb.selectFrom("room_memberships as mine").select("mine.room_id").where("mine.user_id", "=", searcher).where("mine.membership", "=", "join")),
            ...(openRooms.length === 0 ? [] : [eb("m.room_id", "in", [...openRooms])]),
          ]),
        );
      let query = trx.selectFrom(latest.as("u")).select(["u.user_id", "u.display_name", "u.avatar_url"]).where("u.n", "=", 1);
      for (const word of words) {
        const pattern = `%${likeEscaped(word)}%`;
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(u.user_id)`, "like", sql`${pattern} escape '\\'`),
            eb(sql`lower(coalesce(u.display_name, ''))`, "like", sql`${pattern} escape '\\'`),
          ]),
        );
      }
      return await query.orderBy("u.user_id").limit(limit).execute();
    });
    return rows.map((r) => ({
      userId: r.user_id,
      displayName: typeof r.display_name === "string" ? r.display_name : undefined,
      avatarUrl: typeof r.avatar_url === "string" ? r.avatar_url : undefined,
    }));
  }

  /** The rooms with someone joined: those the directory may draw its users from. */
  async roomsWithMembers(): Promise<string[]> {
    const rows = await this.#db.read("get_rooms_with_members", (trx) =>
      trx.selectFrom("room_memberships").select("room_id").where("membership", "=", "join").distinct().execute(),
    );
    return rows.map((r) => r.room_id);
  }
}
