// Filters (client-server-api#filtering), kept as uploaded and found again by their numeric ID.
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";

export class FilterStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a filter; returns its ID. */
  async create(userId: string, filter: JsonObject): Promise<number> {
    const row = await this.#db.write("create_filter", (trx) =>
      trx.insertInto("filters").values({ user_id: userId, filter_json: JSON.stringify(filter) }).returning("filter_id").executeTakeFirstOrThrow(),
    );
    return row.filter_id;
  }

  /** The user's filter with this ID; undefined when there is none (or it is another user's). */
  async get(userId: string, filterId: number): Promise<JsonObject | undefined> {
    const row = await this.#db.read("get_filter", (trx) =>
      trx.selectFrom("filters").select("filter_json").where("filter_id", "=", filterId).where("user_id", "=", userId).executeTakeFirst(),
    );
    return row === undefined ? undefined : (JSON.parse(row.filter_json) as JsonObject);
  }
}
