// Application service transactions (migration 021): each service's stream position and last
// transaction ID, and its transactions sent but not yet acknowledged.
import { sql } from "kysely";
import type { Database } from "../database.ts";

export interface AppserviceStreamState {
  readonly streamOrdering: number;
  readonly lastTxnId: number;
}

export interface PendingAppserviceTxn {
  readonly txnId: number;
  /** The request body, JSON text, as first sent. */
  readonly body: string;
}

export class AppserviceStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async streamState(appserviceId: string): Promise<AppserviceStreamState | undefined> {
    const row = await this.#db.read("get_appservice_stream", (db) =>
      db.selectFrom("appservice_stream").select(["stream_ordering", "last_txn_id"]).where("appservice_id", "=", appserviceId).executeTakeFirst(),
    );
    return row === undefined ? undefined : { streamOrdering: Number(row.stream_ordering), lastTxnId: Number(row.last_txn_id) };
  }

  /** The transactions not acknowledged yet, oldest first. */
  async pending(appserviceId: string): Promise<PendingAppserviceTxn[]> {
    const rows = await this.#db.read("get_appservice_txns", (db) =>
      db.selectFrom("appservice_txns").select(["txn_id", "body"]).where("appservice_id", "=", appserviceId).orderBy("txn_id").execute(),
    );
    return rows.map((r) => ({ txnId: Number(r.txn_id), body: r.body }));
  }

  /**
   * Records a new transaction (its ID is the last one plus one) and moves the service's position
   * to `streamOrdering` (never back), in one write: after a restart the next ID is new and the
   * events are not sent twice under different IDs. The caller passes the highest position at or
   * below which every event is now in a stored transaction or not for the service (not simply its
   * last event's: an event below that may still wait in memory). Returns the transaction ID.
   */
  async createTransaction(appserviceId: string, body: string, streamOrdering: number): Promise<number> {
    return await this.#db.write("create_appservice_txn", async (trx) => {
      // Counted up in the row itself: an advancePosition meanwhile neither reuses an ID nor moves the position back.
      const row = await trx
        .updateTable("appservice_stream")
        .set((eb) => ({ stream_ordering: atLeast(streamOrdering), last_txn_id: eb("last_txn_id", "+", 1) }))
        .where("appservice_id", "=", appserviceId)
        .returning("last_txn_id")
        .executeTakeFirst();
      const txnId = row === undefined ? 1 : Number(row.last_txn_id);
      if (row === undefined) {
        await trx.insertInto("appservice_stream").values({ appservice_id: appserviceId, stream_ordering: streamOrdering, last_txn_id: txnId }).execute();
      }
      await trx.insertInto("appservice_txns").values({ appservice_id: appserviceId, txn_id: txnId, body }).execute();
      return txnId;
    });
  }

  /**
   * Moves the service's position to `streamOrdering` (never back) without a transaction: the
   * events up to it were put in transactions or were not for the service, so that a restart reads
   * on from there. A service without a row gets one, with no transaction ID given out yet (the
   * first transaction is then 1).
   */
  async advancePosition(appserviceId: string, streamOrdering: number): Promise<void> {
    await this.#db.write("advance_appservice_stream", (trx) =>
      trx
        .insertInto("appservice_stream")
        .values({ appservice_id: appserviceId, stream_ordering: streamOrdering, last_txn_id: 0 })
        .onConflict((oc) => oc.column("appservice_id").doUpdateSet({ stream_ordering: atLeast(streamOrdering) }))
        .execute(),
    );
  }

  /** The service acknowledged the transaction. */
  async completeTransaction(appserviceId: string, txnId: number): Promise<void> {
    await this.#db.write("complete_appservice_txn", (trx) =>
      trx.deleteFrom("appservice_txns").where("appservice_id", "=", appserviceId).where("txn_id", "=", txnId).execute(),
    );
  }
}

/** The stored position or `streamOrdering`, whichever is higher: a position only moves forward. */
function atLeast(streamOrdering: number) {
  return sql<number>`case when appservice_stream.stream_ordering < ${streamOrdering} then ${streamOrdering} else appservice_stream.stream_ordering end`;
}
