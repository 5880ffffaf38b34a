// Application service transactions (migration 021): each service's stream position and last
// transaction ID, and its transactions sent but not yet acknowledged.
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
   * Records a new transaction (its ID is the last one plus one) with the stream position its last
   * event had, in one write: after a restart the next ID is new and the events are not sent twice
   * under different IDs. Returns the transaction ID.
   */
  async createTransaction(appserviceId: string, body: string, streamOrdering: number): Promise<number> {
    return await this.#db.write("create_appservice_txn", async (trx) => {
      const row = await trx.selectFrom("appservice_stream").select(["stream_ordering", "last_txn_id"]).where("appservice_id", "=", appserviceId).executeTakeFirst();
      const txnId = row === undefined ? 1 : Number(row.last_txn_id) + 1;
      const position = Math.max(streamOrdering, row === undefined ? 0 : Number(row.stream_ordering));
      if (row === undefined) {
        await trx.insertInto("appservice_stream").values({ appservice_id: appserviceId, stream_ordering: position, last_txn_id: txnId }).execute();
      } else {
        await trx.updateTable("appservice_stream").set({ stream_ordering: position, last_txn_id: txnId }).where("appservice_id", "=", appserviceId).execute();
      }
      await trx.insertInto("appservice_txns").values({ appservice_id: appserviceId, txn_id: txnId, body }).execute();
      return txnId;
    });
  }

  /** The service acknowledged the transaction. */
  async completeTransaction(appserviceId: string, txnId: number): Promise<void> {
    await this.#db.write("complete_appservice_txn", (trx) =>
      trx.deleteFrom("appservice_txns").where("appservice_id", "=", appserviceId).where("txn_id", "=", txnId).execute(),
    );
  }
}
