// The last presence of each local user (modules/presence.md), so that a restart neither forgets
// status messages nor moves the presence stream backwards. The live copy is in memory
// (homeserver/sync/presence.ts); this store is written behind it.
import type { Database } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";

export interface StoredPresence {
  readonly userId: string;
  readonly presence: "online" | "unavailable" | "offline";
  readonly statusMsg: string | null;
  readonly lastActiveTs: number;
  readonly lastSyncTs: number;
  readonly currentlyActive: boolean;
  readonly streamPosition: number;
}

function presenceOf(value: string): StoredPresence["presence"] {
  return value === "online" || value === "unavailable" ? value : "offline";
}

export class PresenceStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Writes the records, each replacing the user's row, in one transaction. */
  async save(records: readonly StoredPresence[]): Promise<void> {
    if (records.length === 0) return;
    await this.#db.write("save_presence", async (trx) => {
      for (const r of records) {
        const values = {
          presence: r.presence,
          status_msg: r.statusMsg,
          last_active_ts: r.lastActiveTs,
          last_sync_ts: r.lastSyncTs,
          currently_active: toFlag(r.currentlyActive),
          stream_position: r.streamPosition,
        };
        await trx
          .insertInto("presence")
          .values({ user_id: r.userId, ...values })
          .onConflict((oc) => oc.column("user_id").doUpdateSet(values))
          .execute();
      }
    });
  }

  /** Every stored record (read once at start). */
  async all(): Promise<StoredPresence[]> {
    const rows = await this.#db.read("load_presence", (trx) => trx.selectFrom("presence").selectAll().execute());
    return rows.map((row) => ({
      userId: row.user_id,
      presence: presenceOf(row.presence),
      statusMsg: row.status_msg,
      lastActiveTs: Number(row.last_active_ts),
      lastSyncTs: Number(row.last_sync_ts),
      currentlyActive: fromFlag(row.currently_active),
      streamPosition: Number(row.stream_position),
    }));
  }
}
