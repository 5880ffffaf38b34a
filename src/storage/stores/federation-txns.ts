// Transactions received from other servers (server-server-api#put_matrixfederationv1sendtxnid):
// (origin, txnId) -> the response given, so that a transaction sent again (the sender did not
// get our 200) is answered the same way without processing it twice.
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";

export class FederationTxnStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The response given to this transaction, if it was processed. */
  async response(origin: string, txnId: string): Promise<JsonObject | undefined> {
    const row = await this.#db.read("get_received_federation_txn", (trx) =>
      trx
        .selectFrom("federation_received_txns")
        .select("response_json")
        .where("origin", "=", origin)
        .where("txn_id", "=", txnId)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : (JSON.parse(row.response_json) as JsonObject);
  }

  /** Records the response to a transaction; the first one recorded stays. */
  async record(origin: string, txnId: string, response: JsonObject, now: number): Promise<void> {
    await this.#db.write("record_received_federation_txn", (trx) =>
      trx
        .insertInto("federation_received_txns")
        .values({ origin, txn_id: txnId, response_json: JSON.stringify(response), received_ts: now })
        .onConflict((oc) => oc.columns(["origin", "txn_id"]).doNothing())
        .execute(),
    );
  }

  /** Forgets transactions received before `cutoffTs`; returns how many. */
  async prune(cutoffTs: number): Promise<number> {
    const result = await this.#db.write("prune_received_federation_txns", (trx) =>
      trx.deleteFrom("federation_received_txns").where("received_ts", "<", cutoffTs).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
