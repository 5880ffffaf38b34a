// The device-list stream (modules/end_to_end_encryption.md#tracking-the-device-list-for-a-user):
// what a syncing client may have to query keys again for, by stream position. Two kinds of entry:
// - "keys": a user's devices or cross-signing keys changed (seen by everyone sharing a room with
//   them, or by one observer only, e.g. a signature made with a user-signing key);
// - "member": a user's membership of a room changed (who shares a room with whom may have changed).
// A new entry replaces the older one of the same (user, room, observer) with a later position, so
// the table holds one row per thing described, not its history.
//
// Positions must become visible in order (a reader that saw 7 must never later find a 6): writes
// run one at a time per database in the process, as account data's do.
import type { Database } from "../database.ts";

export type DeviceListEntryKind = "keys" | "member";

export interface DeviceListEntry {
  readonly kind: DeviceListEntryKind;
  readonly userId: string;
  /** The room, for "member" entries. */
  readonly roomId?: string;
  /** The one user who may see a "keys" entry; everyone sharing a room with userId when absent. */
  readonly observer?: string;
}

export interface StoredDeviceListEntry {
  readonly streamId: number;
  readonly kind: DeviceListEntryKind;
  readonly userId: string;
  /** '' for "keys" entries. */
  readonly roomId: string;
  /** '' when everyone sharing a room with userId may see it. */
  readonly observer: string;
}

const writeTails = new WeakMap<Database, Promise<unknown>>();

export class DeviceListStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Appends entries; returns the position of the last (0 when none was given). */
  async append(entries: readonly DeviceListEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    return await this.#serially(() =>
      this.#db.write("append_device_list_changes", async (trx) => {
        let position = 0;
        for (const e of entries) {
          const roomId = e.kind === "member" ? (e.roomId ?? "") : "";
          const observer = e.observer ?? "";
          await trx
            .deleteFrom("e2e_device_list_stream")
            .where("user_id", "=", e.userId)
            .where("room_id", "=", roomId)
            .where("observer_user_id", "=", observer)
            .execute();
          const row = await trx
            .insertInto("e2e_device_list_stream")
            .values({ user_id: e.userId, kind: e.kind, room_id: roomId, observer_user_id: observer })
            .returning("stream_id")
            .executeTakeFirstOrThrow();
          position = Math.max(position, row.stream_id);
        }
        return position;
      }),
    );
  }

  /**
   * The entries with from < position <= to that may concern `observer`: "keys" entries meant for
   * everyone or for it, and "member" entries (the caller narrows both down to the users and rooms
   * it shares), oldest first.
   */
  async between(observer: string, from: number, to: number): Promise<StoredDeviceListEntry[]> {
    if (to <= from) return [];
    const rows = await this.#db.read("get_device_list_changes", (trx) =>
      trx
        .selectFrom("e2e_device_list_stream")
        .select(["stream_id", "kind", "user_id", "room_id", "observer_user_id"])
        .where("stream_id", ">", from)
        .where("stream_id", "<=", to)
        .where("observer_user_id", "in", ["", observer])
        .orderBy("stream_id")
        .execute(),
    );
    return rows.map((r) => ({
      streamId: r.stream_id,
      kind: r.kind === "member" ? "member" : "keys",
      userId: r.user_id,
      roomId: r.room_id,
      observer: r.observer_user_id,
    }));
  }

  /** The highest position written so far (0 for none). */
  async maxStreamId(): Promise<number> {
    const row = await this.#db.read("device_list_max_stream_id", (trx) =>
      trx.selectFrom("e2e_device_list_stream").select((eb) => eb.fn.max("stream_id").as("max")).executeTakeFirst(),
    );
    return Number(row?.max ?? 0);
  }

  #serially<T>(run: () => Promise<T>): Promise<T> {
    const result = (writeTails.get(this.#db) ?? Promise.resolve()).then(run, run);
    writeTails.set(this.#db, result.catch(() => undefined));
    return result;
  }
}
