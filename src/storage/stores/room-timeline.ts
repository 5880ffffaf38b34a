// Reads of a room's timeline (the room stream that stores/events.ts writes) in either direction,
// for /messages, /context, /timestamp_to_event and sync's timelines. Read-only: the rows belong to
// the room engine's store; these are the range and timestamp reads it does not offer.
import type { Database } from "../database.ts";

export interface TimelineEntry {
  readonly streamOrdering: number;
  readonly eventId: string;
}

/** One of a user's events in a room's timeline, as a redaction job looks at it. */
export interface SentEvent {
  readonly eventId: string;
  readonly type: string;
  readonly isState: boolean;
  readonly redacted: boolean;
}

/** A range of a room's stream: positions in (after, upTo]; upTo undefined is the end. */
export interface StreamRange {
  readonly after: number;
  readonly upTo: number | undefined;
}

export class RoomTimelineStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * At most `limit` entries of the room's stream in the range: `f` oldest first from its start,
   * `b` newest first from its end.
   */
  async page(roomId: string, range: StreamRange, limit: number, dir: "f" | "b"): Promise<TimelineEntry[]> {
    if (limit <= 0 || (range.upTo !== undefined && range.upTo <= range.after)) return [];
    const rows = await this.#db.read("get_room_timeline_page", (trx) => {
      let query = trx
        .selectFrom("room_stream as s")
        .innerJoin("rooms as r", "r.room_nid", "s.room_nid")
        .innerJoin("events as e", "e.event_nid", "s.event_nid")
        .select(["s.stream_ordering", "e.event_id"])
        .where("r.room_id", "=", roomId)
        .where("s.stream_ordering", ">", range.after);
      if (range.upTo !== undefined) query = query.where("s.stream_ordering", "<=", range.upTo);
      return query
        .orderBy("s.stream_ordering", dir === "f" ? "asc" : "desc")
        .limit(limit)
        .execute();
    });
    return rows.map((r) => ({ streamOrdering: r.stream_ordering, eventId: r.event_id }));
  }

  /**
   * The room's event closest to `ts` in the direction (room_event_by_timestamp.yaml): `f` the
   * earliest at or after it, `b` the latest at or before it; ties go to the stream order.
   */
  async closestByTimestamp(
    roomId: string,
    ts: number,
    dir: "f" | "b",
  ): Promise<{ eventId: string; originServerTs: number; streamOrdering: number } | undefined> {
    const row = await this.#db.read("get_event_by_timestamp", (trx) =>
      trx
        .selectFrom("room_stream as s")
        .innerJoin("rooms as r", "r.room_nid", "s.room_nid")
        .innerJoin("events as e", "e.event_nid", "s.event_nid")
        .select(["e.event_id", "e.origin_server_ts", "s.stream_ordering"])
        .where("r.room_id", "=", roomId)
        .where("e.origin_server_ts", dir === "f" ? ">=" : "<=", ts)
        .orderBy("e.origin_server_ts", dir === "f" ? "asc" : "desc")
        .orderBy("s.stream_ordering", dir === "f" ? "asc" : "desc")
        .limit(1)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : { eventId: row.event_id, originServerTs: row.origin_server_ts, streamOrdering: row.stream_ordering };
  }

  /**
   * The latest `limit` events `sender` sent to the room's timeline, newest first, sent (by their
   * origin_server_ts) at or after `afterTs` and at or before `beforeTs` when given. The room's stream
   * is read with the sender as a condition: no index serves a sender alone, since one on events
   * would cost every message sent, and an admin's redaction job is rare.
   */
  async sentBy(roomId: string, sender: string, limit: number, afterTs?: number, beforeTs?: number): Promise<SentEvent[]> {
    const rows = await this.#db.read("get_room_events_sent_by", (trx) => {
      let query = trx
        .selectFrom("room_stream as s")
        .innerJoin("rooms as r", "r.room_nid", "s.room_nid")
        .innerJoin("events as e", "e.event_nid", "s.event_nid")
        .select(["e.event_id", "e.type", "e.state_key_nid", "e.redacted_by"])
        .where("r.room_id", "=", roomId)
        .where("e.sender", "=", sender);
      if (afterTs !== undefined) query = query.where("e.origin_server_ts", ">=", afterTs);
      if (beforeTs !== undefined) query = query.where("e.origin_server_ts", "<=", beforeTs);
      return query.orderBy("s.stream_ordering", "desc").limit(limit).execute();
    });
    return rows.map((r) => ({ eventId: r.event_id, type: r.type, isState: r.state_key_nid !== null, redacted: r.redacted_by !== null }));
  }
}
