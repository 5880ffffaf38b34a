// Media a server admin quarantined (migration 028), each with who quarantined it, and media of ours
// protected from quarantine (migration 029).
import type { Database } from "../database.ts";

export interface MediaRef {
  readonly serverName: string;
  readonly mediaId: string;
}

export class QuarantinedMediaStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Every quarantined medium, "server/mediaId" -> the admin (they are few: the server keeps them in memory). */
  async all(): Promise<Map<string, string>> {
    const rows = await this.#db.read("get_quarantined_media", (trx) =>
      trx.selectFrom("quarantined_media").select(["server_name", "media_id", "quarantined_by"]).execute(),
    );
    return new Map(rows.map((row) => [`${row.server_name}/${row.media_id}`, row.quarantined_by]));
  }

  /** Quarantines media not quarantined yet (who quarantined one first stays); answers those newly quarantined. */
  async add(media: readonly MediaRef[], by: string, now: number): Promise<MediaRef[]> {
    if (media.length === 0) return [];
    return await this.#db.write("quarantine_media", async (trx) => {
      const added: MediaRef[] = [];
      for (const { serverName, mediaId } of media) {
        const inserted = await trx
          .insertInto("quarantined_media")
          .values({ server_name: serverName, media_id: mediaId, quarantined_by: by, quarantined_ts: now })
          .onConflict((oc) => oc.columns(["server_name", "media_id"]).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) added.push({ serverName, mediaId });
      }
      return added;
    });
  }

  async remove(serverName: string, mediaId: string): Promise<void> {
    await this.#db.write("unquarantine_media", async (trx) => {
      await trx.deleteFrom("quarantined_media").where("server_name", "=", serverName).where("media_id", "=", mediaId).execute();
    });
  }

  /** The media of ours protected from quarantine. */
  async allProtected(): Promise<Set<string>> {
    const rows = await this.#db.read("get_protected_media", (trx) => trx.selectFrom("protected_media").select("media_id").execute());
    return new Set(rows.map((row) => row.media_id));
  }

  async setProtected(mediaId: string, isProtected: boolean): Promise<void> {
    await this.#db.write("set_protected_media", async (trx) => {
      if (!isProtected) await trx.deleteFrom("protected_media").where("media_id", "=", mediaId).execute();
      else await trx.insertInto("protected_media").values({ media_id: mediaId }).onConflict((oc) => oc.column("media_id").doNothing()).execute();
    });
  }
}
