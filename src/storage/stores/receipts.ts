// Receipts (modules/receipts.md) stored as a stream: every change replaces the row of its
// (room, receipt type, user, thread) with a new one, whose auto-increment stream_id is the change's
// position; sync asks for `stream_id > since`. thread_id is '' for an unthreaded receipt.
//
// Positions must become visible in order (a reader that saw 7 must never later find a 6 committed
// behind it): writes to one database run one at a time in the process, as account data's do.
import type { Database, Trx } from "../database.ts";

export const UNTHREADED = "";

export interface StoredReceipt {
  readonly streamId: number;
  readonly roomId: string;
  readonly receiptType: string;
  readonly userId: string;
  /** Undefined for an unthreaded receipt. */
  readonly threadId: string | undefined;
  readonly eventId: string;
  /** The receipted event's position in the room stream, when it has one. */
  readonly eventStreamOrdering: number | undefined;
  readonly ts: number;
}

export interface ReceiptWrite {
  readonly roomId: string;
  readonly receiptType: string;
  readonly userId: string;
  readonly threadId: string | undefined;
  readonly eventId: string;
  readonly eventStreamOrdering: number | undefined;
  readonly ts: number;
}

interface ReceiptRow {
  stream_id: number;
  room_id: string;
  receipt_type: string;
  user_id: string;
  thread_id: string;
  event_id: string;
  event_stream_ordering: number | null;
  ts: number;
}

function toReceipt(row: ReceiptRow): StoredReceipt {
  return {
    streamId: Number(row.stream_id),
    roomId: row.room_id,
    receiptType: row.receipt_type,
    userId: row.user_id,
    threadId: row.thread_id === UNTHREADED ? undefined : row.thread_id,
    eventId: row.event_id,
    eventStreamOrdering: row.event_stream_ordering === null ? undefined : Number(row.event_stream_ordering),
    ts: Number(row.ts),
  };
}

// Bounded IN lists: SQLite allows at most 32766 bound parameters in one statement.
function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const writeTails = new WeakMap<Database, Promise<unknown>>();

export class ReceiptStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  #serially<T>(run: () => Promise<T>): Promise<T> {
    const result = (writeTails.get(this.#db) ?? Promise.resolve()).then(run, run);
    writeTails.set(this.#db, result.catch(() => undefined));
    return result;
  }

  /**
   * Sets a receipt, unless `keep(current)` says the one stored is to stay (a receipt that would
   * move backwards). Returns the new stream position, or undefined when nothing was written.
   */
  async put(write: ReceiptWrite, keep: (current: StoredReceipt) => boolean = () => false): Promise<number | undefined> {
    const thread = write.threadId ?? UNTHREADED;
    return await this.#serially(() =>
      this.#db.write("put_receipt", async (trx) => {
        const current = await selectKey(trx, write.roomId, write.receiptType, write.userId, thread).executeTakeFirst();
        if (current !== undefined && keep(toReceipt(current))) return undefined;
        await trx
          .deleteFrom("receipts")
          .where("room_id", "=", write.roomId)
          .where("receipt_type", "=", write.receiptType)
          .where("user_id", "=", write.userId)
          .where("thread_id", "=", thread)
          .execute();
        const row = await trx
          .insertInto("receipts")
          .values({
            room_id: write.roomId,
            receipt_type: write.receiptType,
            user_id: write.userId,
            thread_id: thread,
            event_id: write.eventId,
            event_stream_ordering: write.eventStreamOrdering ?? null,
            ts: write.ts,
          })
          .returning("stream_id")
          .executeTakeFirstOrThrow();
        return Number(row.stream_id);
      }),
    );
  }

  /** Receipts changed after `since` up to `upTo`, in the given rooms, in stream order. */
  async changesInRooms(roomIds: readonly string[], since: number, upTo: number): Promise<StoredReceipt[]> {
    if (roomIds.length === 0 || upTo <= since) return [];
    const rows = await this.#db.read("receipts_changes_in_rooms", async (trx) => {
      const out: ReceiptRow[] = [];
      for (const chunk of chunks(roomIds)) {
        out.push(
          ...(await trx
            .selectFrom("receipts")
            .selectAll()
            .where("room_id", "in", chunk)
            .where("stream_id", ">", since)
            .where("stream_id", "<=", upTo)
            .execute()),
        );
      }
      return out;
    });
    return rows.map(toReceipt).sort((a, b) => a.streamId - b.streamId);
  }

  /** Every receipt the user sent, in any room (for unread counts). */
  async ofUser(userId: string): Promise<StoredReceipt[]> {
    const rows = await this.#db.read("receipts_of_user", (trx) => trx.selectFrom("receipts").selectAll().where("user_id", "=", userId).execute());
    return rows.map(toReceipt);
  }

  /** The highest stream position written so far (0 for none). */
  async maxStreamId(): Promise<number> {
    const row = await this.#db.read("receipts_max_stream_id", (trx) =>
      trx.selectFrom("receipts").select((eb) => eb.fn.max("stream_id").as("max")).executeTakeFirst(),
    );
    return Number(row?.max ?? 0);
  }
}

function selectKey(trx: Trx, roomId: string, receiptType: string, userId: string, thread: string) {
  return trx
    .selectFrom("receipts")
    .selectAll()
    .where("room_id", "=", roomId)
    .where("receipt_type", "=", receiptType)
    .where("user_id", "=", userId)
    .where("thread_id", "=", thread);
}
