// Profiles (client-server-api#profiles): displayname and avatar_url on the users row, the custom
// fields of v1.16 in profile_fields, their values as JSON text.
import type { JsonValue } from "../../core/json.ts";
import type { Database } from "../database.ts";

export interface StoredProfile {
  displayname: string | null;
  avatarUrl: string | null;
  /** The custom fields, by key name. */
  fields: Record<string, JsonValue>;
}

export type ProfileChange =
  | { kind: "displayname"; value: string | null }
  | { kind: "avatar_url"; value: string | null }
  | { kind: "field"; key: string; value: JsonValue | undefined };

export class ProfileStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The user's profile; undefined when the user has no account here. */
  async getProfile(userId: string): Promise<StoredProfile | undefined> {
    return await this.#db.read("get_profile", async (trx) => {
      const user = await trx.selectFrom("users").select(["displayname", "avatar_url"]).where("user_id", "=", userId).executeTakeFirst();
      if (user === undefined) return undefined;
      const rows = await trx
        .selectFrom("profile_fields")
        .select(["field_name", "value_json"])
        .where("user_id", "=", userId)
        .orderBy("field_name")
        .execute();
      const fields: Record<string, JsonValue> = {};
      for (const r of rows) fields[r.field_name] = JSON.parse(r.value_json) as JsonValue;
      return { displayname: user.displayname, avatarUrl: user.avatar_url, fields };
    });
  }

  /**
   * Applies a change if `check` accepts the profile it would produce (the size limit is checked on
   * the profile as it is in the same transaction); returns that profile, or undefined without a user.
   */
  async changeProfile(
    userId: string,
    change: ProfileChange,
    check: (next: StoredProfile) => void,
  ): Promise<StoredProfile | undefined> {
    return await this.#db.write("change_profile", async (trx) => {
      const user = await trx.selectFrom("users").select(["displayname", "avatar_url"]).where("user_id", "=", userId).executeTakeFirst();
      if (user === undefined) return undefined;
      const rows = await trx.selectFrom("profile_fields").select(["field_name", "value_json"]).where("user_id", "=", userId).execute();
      const next: StoredProfile = { displayname: user.displayname, avatarUrl: user.avatar_url, fields: {} };
      for (const r of rows) next.fields[r.field_name] = JSON.parse(r.value_json) as JsonValue;
      if (change.kind === "displayname") next.displayname = change.value;
      else if (change.kind === "avatar_url") next.avatarUrl = change.value;
      else if (change.value === undefined) delete next.fields[change.key];
      else next.fields[change.key] = change.value;
      check(next);

      if (change.kind === "displayname") {
        await trx.updateTable("users").set({ displayname: change.value }).where("user_id", "=", userId).execute();
      } else if (change.kind === "avatar_url") {
        await trx.updateTable("users").set({ avatar_url: change.value }).where("user_id", "=", userId).execute();
      } else if (change.value === undefined) {
        await trx.deleteFrom("profile_fields").where("user_id", "=", userId).where("field_name", "=", change.key).execute();
      } else {
        const value_json = JSON.stringify(change.value);
        await trx
          .insertInto("profile_fields")
          .values({ user_id: userId, field_name: change.key, value_json })
          .onConflict((oc) => oc.columns(["user_id", "field_name"]).doUpdateSet({ value_json }))
          .execute();
      }
      return next;
    });
  }

  /** Erases the whole profile (account deactivation with `erase`). */
  async eraseProfile(userId: string): Promise<void> {
    await this.#db.write("erase_profile", async (trx) => {
      await trx.updateTable("users").set({ displayname: null, avatar_url: null }).where("user_id", "=", userId).execute();
      await trx.deleteFrom("profile_fields").where("user_id", "=", userId).execute();
    });
  }
}
