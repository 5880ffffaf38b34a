// The membership index's tables (migration 005): the current membership of every (room, user),
// the log of changes by stream position, and the positions applied (per room, and the global
// checkpoint catch-up starts from). Written only by the MembershipIndex consumer
// (src/homeserver/rooms/membership-index.ts), one transaction per batch of outputs, which also
// marks the user directory rows of the users it changed stale (stores/user-directory.ts).
import { sql } from "kysely";
import type { Database, Trx } from "../database.ts";
import { fromFlag } from "../schema.ts";
import { chunks } from "./room-state.ts";
import { markDirectoryStale } from "./user-directory.ts";

export interface MembershipRow {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: string;
  readonly eventId: string;
  readonly streamOrdering: number;
  readonly forgotten: boolean;
}

/** The profile a member event gives (its content's displayname and avatar_url, when strings): the user directory's source. */
export interface MemberProfile {
  readonly displayName?: string | null;
  readonly avatarUrl?: string | null;
}

/** One change to apply: a new membership event, or the member's key gone from the state. */
export type MembershipWrite =
  | (Omit<MembershipRow, "forgotten"> & MemberProfile & { readonly serverName: string; readonly removed?: false })
  | { readonly removed: true; readonly roomId: string; readonly userId: string };

export interface MembershipBatch {
  /** In the order they happened; a later write of the same (room, user) wins. */
  readonly writes: readonly MembershipWrite[];
  /** The position each room is applied to now. */
  readonly roomPositions: ReadonlyMap<string, number>;
}

const ROW = ["room_id", "user_id", "membership", "event_id", "stream_ordering", "forgotten"] as const;

function toRow(r: { room_id: string; user_id: string; membership: string; event_id: string; stream_ordering: number; forgotten: number }): MembershipRow {
  return {
    roomId: r.room_id,
    userId: r.user_id,
    membership: r.membership,
    eventId: r.event_id,
    streamOrdering: r.stream_ordering,
    forgotten: fromFlag(r.forgotten),
  };
}

export class MembershipStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Applies a batch and records the positions, atomically: a replay of it changes nothing (but
   * marking its users' directory rows stale). The marks are made in the same transaction.
   */
  async apply(batch: MembershipBatch): Promise<void> {
    if (batch.writes.length === 0 && batch.roomPositions.size === 0) return;
    await this.#db.write("apply_membership_changes", async (trx) => {
      for (const w of batch.writes) {
        if (w.removed === true) {
          await trx.deleteFrom("room_memberships").where("room_id", "=", w.roomId).where("user_id", "=", w.userId).execute();
          continue;
        }
        const row = {
          room_id: w.roomId,
          user_id: w.userId,
          server_name: w.serverName,
          membership: w.membership,
          event_id: w.eventId,
          stream_ordering: w.streamOrdering,
          display_name: profileText(w.displayName),
          avatar_url: profileText(w.avatarUrl),
        };
        await trx
          .insertInto("room_memberships")
          .values(row)
          .onConflict((oc) =>
            oc
              .columns(["room_id", "user_id"])
              .doUpdateSet({
                membership: w.membership,
                event_id: w.eventId,
                stream_ordering: w.streamOrdering,
                forgotten: 0,
                display_name: row.display_name,
                avatar_url: row.avatar_url,
              })
              // The same event again (a replay) changes nothing, not even a /forget.
              .where("room_memberships.event_id", "!=", w.eventId),
          )
          .execute();
        await trx
          .insertInto("membership_changes")
          .values({ user_id: w.userId, stream_ordering: w.streamOrdering, room_id: w.roomId, membership: w.membership, event_id: w.eventId })
          .onConflict((oc) => oc.columns(["user_id", "stream_ordering", "room_id"]).doNothing())
          .execute();
      }
      await setRoomPositions(trx, batch.roomPositions);
      await markDirectoryStale(this.#db, trx, batch.writes.map((w) => w.userId));
    });
  }

  /** The positions applied, for these rooms (absent: none yet). */
  async roomPositions(roomIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (roomIds.length === 0) return out;
    await this.#db.read("get_membership_index_rooms", async (trx) => {
      for (const chunk of chunks([...new Set(roomIds)])) {
        const rows = await trx.selectFrom("membership_index_rooms").select(["room_id", "stream_ordering"]).where("room_id", "in", chunk).execute();
        for (const r of rows) out.set(r.room_id, r.stream_ordering);
      }
    });
    return out;
  }

  /** The checkpoint: every position at or below it is applied. */
  async checkpoint(): Promise<number> {
    const row = await this.#db.read("get_membership_index_position", (trx) =>
      trx.selectFrom("membership_index_position").select("stream_ordering").where("id", "=", 1).executeTakeFirst(),
    );
    return row?.stream_ordering ?? 0;
  }

  async setCheckpoint(position: number): Promise<void> {
    await this.#db.write("set_membership_index_position", (trx) =>
      trx
        .insertInto("membership_index_position")
        .values({ id: 1, stream_ordering: position })
        .onConflict((oc) => oc.column("id").doUpdateSet({ stream_ordering: position }))
        .execute(),
    );
  }

  async roomsForUser(userId: string, memberships: readonly string[] | undefined): Promise<MembershipRow[]> {
    const rows = await this.#db.read("get_rooms_for_user", (trx) => {
      let q = trx
        .selectFrom("room_memberships")
        .select(ROW)
        .where("user_id", "=", userId);
      if (memberships !== undefined) q = q.where("membership", "in", memberships.length === 0 ? [""] : [...memberships]);
      return q.orderBy("stream_ordering").execute();
    });
    return rows.map(toRow);
  }

  /** The user's changes with since < position <= to, oldest first. */
  async changesSince(userId: string, since: number, to: number): Promise<MembershipRow[]> {
    const rows = await this.#db.read("get_membership_changes", (trx) =>
      trx
        .selectFrom("membership_changes")
        .select(["room_id", "user_id", "membership", "event_id", "stream_ordering", sql<number>`0`.as("forgotten")])
        .where("user_id", "=", userId)
        .where("stream_ordering", ">", since)
        .where("stream_ordering", "<=", to)
        .orderBy("stream_ordering")
        .orderBy("room_id")
        .execute(),
    );
    return rows.map(toRow);
  }

  /** The position of the user's latest join of the room, if they ever joined it. */
  async lastJoinPosition(userId: string, roomId: string): Promise<number | undefined> {
    const row = await this.#db.read("get_last_join", (trx) =>
      trx
        .selectFrom("membership_changes")
        .select((eb) => eb.fn.max("stream_ordering").as("position"))
        .where("user_id", "=", userId)
        .where("room_id", "=", roomId)
        .where("membership", "=", "join")
        .executeTakeFirst(),
    );
    const position = row?.position;
    return position === null || position === undefined ? undefined : Number(position);
  }

  /** Every member row of the room (any membership). */
  async members(roomId: string, membership?: string): Promise<MembershipRow[]> {
    const rows = await this.#db.read("get_room_members", (trx) => {
      let q = trx
        .selectFrom("room_memberships")
        .select(ROW)
        .where("room_id", "=", roomId);
      if (membership !== undefined) q = q.where("membership", "=", membership);
      return q.orderBy("user_id").execute();
    });
    return rows.map(toRow);
  }

  async membershipOf(userId: string, roomId: string): Promise<MembershipRow | undefined> {
    const row = await this.#db.read("get_membership", (trx) =>
      trx
        .selectFrom("room_memberships")
        .select(ROW)
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : toRow(row);
  }

  /** Marks the room forgotten by the user, unless they are joined to it (or have no membership). */
  async forget(userId: string, roomId: string): Promise<boolean> {
    const result = await this.#db.write("forget_room", (trx) =>
      trx
        .updateTable("room_memberships")
        .set({ forgotten: 1 })
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .where("membership", "!=", "join")
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  /** The users joined to any room the user is joined to (the user among them). */
  async usersSharingRoomWith(userId: string): Promise<Set<string>> {
    const rows = await this.#db.read("get_users_sharing_room", (trx) =>
      trx
        .selectFrom("room_memberships as other")
        .innerJoin("room_memberships as mine", "mine.room_id", "other.room_id")
        .select("other.user_id")
        .distinct()
        .where("mine.user_id", "=", userId)
        .where("mine.membership", "=", "join")
        .where("other.membership", "=", "join")
        .execute(),
    );
    return new Set(rows.map((r) => r.user_id));
  }
}

/** A profile field as stored: PostgreSQL's text cannot hold NUL, so neither engine keeps one. */
function profileText(value: string | null | undefined): string | null {
  return typeof value === "string" ? value.replace(/\0/g, "") : null;
}

async function setRoomPositions(trx: Trx, positions: ReadonlyMap<string, number>): Promise<void> {
  const values = [...positions].map(([room_id, stream_ordering]) => ({ room_id, stream_ordering }));
  for (const chunk of chunks(values, 500)) {
    await trx
      .insertInto("membership_index_rooms")
      .values(chunk)
      .onConflict((oc) =>
        oc
          .column("room_id")
          .doUpdateSet({ stream_ordering: (eb) => eb.ref("excluded.stream_ordering") })
          // Positions only move forward, whatever order replays come in.
          .where("membership_index_rooms.stream_ordering", "<", sql<number>`excluded.stream_ordering`),
      )
      .execute();
  }
}
