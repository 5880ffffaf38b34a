// The transaction IDs of requests that created events (client-server-api#transaction-identifiers):
// a retransmission finds the event its first attempt made, also after a restart, and the sending
// device is told the transaction ID of its own events (client_event.yaml `transaction_id`).
import { packedMap } from "../../core/packed-map.ts";
import type { Database, Trx } from "../database.ts";
import { chunks, insertRows } from "./room-state.ts";

/** Who sent a request and where: the scope of a transaction ID ("a single device, and a single HTTP endpoint"). */
export interface TransactionKey {
  readonly userId: string;
  /** '' when the access token has no device. */
  readonly deviceId: string;
  /** The endpoint and the path parameters besides the txnId (a retransmission has "the same path"). */
  readonly scope: string;
  readonly txnId: string;
}

/** A transaction ID and the event its request created, written with the event (EventStore.persist). */
export interface EventTransaction {
  readonly key: TransactionKey;
  readonly eventId: string;
}

/**
 * Records events' transaction IDs inside `trx`, the transaction that stores the events, so an
 * acknowledged send is found by its retransmission after any crash. A key recorded already keeps
 * its first event.
 */
export async function insertEventTransactions(db: Database, trx: Trx, transactions: readonly EventTransaction[], now: number): Promise<void> {
  await insertRows(
    db,
    trx,
    "insert into event_transactions (user_id, device_id, scope, txn_id, event_id, created_ts)",
    6,
    packedMap(transactions, ({ key, eventId }) => [key.userId, key.deviceId, key.scope, key.txnId, eventId, now]),
    " on conflict (user_id, device_id, scope, txn_id) do nothing",
  );
}

export class TransactionStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The event a request with this key created, if one did. */
  async eventFor(key: TransactionKey): Promise<string | undefined> {
    // Every send asks this: one statement, prepared once, without a transaction (Database.readOnce).
    const rows = await this.#db.readOnce<{ event_id: string }>(
      "get_event_transaction",
      "select event_id from event_transactions where user_id = ? and device_id = ? and scope = ? and txn_id = ?",
      [key.userId, key.deviceId, key.scope, key.txnId],
    );
    return rows[0]?.event_id;
  }

  /** Records the event a request created. A second record of the same key keeps the first. */
  async record(key: TransactionKey, eventId: string, now: number): Promise<void> {
    await this.#db.write("record_event_transaction", (trx) =>
      trx
        .insertInto("event_transactions")
        .values({ user_id: key.userId, device_id: key.deviceId, scope: key.scope, txn_id: key.txnId, event_id: eventId, created_ts: now })
        .onConflict((oc) => oc.columns(["user_id", "device_id", "scope", "txn_id"]).doNothing())
        .execute(),
    );
  }

  /** The transaction IDs of those events that this device of this user sent: event ID -> txnId. */
  async transactionIdsFor(eventIds: readonly string[], userId: string, deviceId: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (eventIds.length === 0) return out;
    await this.#db.read("get_transaction_ids", async (trx) => {
      for (const chunk of chunks([...new Set(eventIds)])) {
        const rows = await trx
          .selectFrom("event_transactions")
          .select(["event_id", "txn_id"])
          .where("event_id", "in", chunk)
          .where("user_id", "=", userId)
          .where("device_id", "=", deviceId)
          .execute();
        for (const row of rows) out.set(row.event_id, row.txn_id);
      }
    });
    return out;
  }

  /** Forgets transactions recorded before `cutoffTs`; returns how many. */
  async purgeBefore(cutoffTs: number): Promise<number> {
    const result = await this.#db.write("purge_event_transactions", (trx) =>
      trx.deleteFrom("event_transactions").where("created_ts", "<", cutoffTs).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
