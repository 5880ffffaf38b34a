// Positions in the room stream for history fetched from before what a room had here (server-server-api
// #backfilling-and-retrieving-missing-events). Live events take positions from room_stream's
// auto-increment, always above zero; backfilled events take positions below everything stored,
// counting down from zero, so a backward walk of the stream (/messages dir=b) reaches them after
// the room's own history, and sync, which only reads forwards from its positions, never serves
// them as new.
//
// The positions are handed out here, in process (a sequence cannot count down below another's
// values on both engines): the lowest position in use is read once, then each placement takes the
// next ones below it before its transaction starts. One process writes a database (events.ts).
import type { Database } from "../database.ts";
import { chunks } from "./room-state.ts";

export class BackfillPositions {
  readonly #db: Database;
  /** The lowest position taken so far (0 while none is below zero), once read from the table. */
  #lowest: number | undefined;
  #reading: Promise<void> | undefined;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Gives the room's backfilled events among `eventIds` that are placed in the room's graph (not
   * outliers, not rejected) but not in its stream yet positions below every stored one, in the order given
   * (oldest first): the first gets the lowest. Returns the positions given, by event ID.
   */
  async place(roomId: string, eventIds: readonly string[]): Promise<Map<string, number>> {
    const placed = new Map<string, number>();
    if (eventIds.length === 0) return placed;
    const order = new Map([...new Set(eventIds)].map((id, i) => [id, i]));
    const rows: Array<{ event_nid: number; event_id: string; room_nid: number }> = [];
    await this.#db.read("get_backfilled_unplaced", async (trx) => {
      for (const chunk of chunks([...order.keys()])) {
        const found = await trx
          .selectFrom("events as e")
          .innerJoin("rooms as r", "r.room_nid", "e.room_nid")
          .leftJoin("room_stream as s", "s.event_nid", "e.event_nid")
          .select(["e.event_nid", "e.event_id", "e.room_nid"])
          .where("r.room_id", "=", roomId)
          .where("e.event_id", "in", chunk)
          .where("e.outlier", "=", 0)
          .where("e.backfilled", "=", 1)
          .where("e.rejected_reason", "is", null)
          .where("s.stream_ordering", "is", null)
          .execute();
        rows.push(...found);
      }
    });
    if (rows.length === 0) return placed;
    rows.sort((x, y) => (order.get(x.event_id) ?? 0) - (order.get(y.event_id) ?? 0));
    // Taken before the transaction, synchronously after the read of the lowest: two placements
    // never share a position. A failed transaction leaves a gap, which the stream allows.
    await this.#readLowest();
    const first = (this.#lowest ?? 0) - rows.length;
    this.#lowest = first;
    await this.#db.write("place_backfilled_events", async (trx) => {
      for (const [i, row] of rows.entries()) {
        const position = first + i;
        // An event placed meanwhile keeps its position (the event_nid is unique in the stream).
        const inserted = await trx
          .insertInto("room_stream")
          .values({ stream_ordering: position, room_nid: row.room_nid, event_nid: row.event_nid })
          .onConflict((oc) => oc.column("event_nid").doNothing())
          .returning("stream_ordering")
          .executeTakeFirst();
        if (inserted !== undefined) placed.set(row.event_id, position);
      }
    });
    return placed;
  }

  /** Reads the lowest position in use, once; callers take positions synchronously after it. */
  async #readLowest(): Promise<void> {
    this.#reading ??= this.#db.read("get_lowest_stream_position", async (trx) => {
      const row = await trx
        .selectFrom("room_stream")
        .select((eb) => eb.fn.min<number | string | null>("stream_ordering").as("lowest"))
        .executeTakeFirst();
      this.#lowest = Math.min(0, Number(row?.lowest ?? 0));
    });
    await this.#reading;
  }
}
