// Send-to-device messages (modules/send_to_device.md#server-behaviour): pending messages per
// device, in order of arrival (the stream position), deleted once the device acknowledged them;
// and the transaction IDs already applied, so a retried request is not delivered twice.
//
// Positions must become visible in order: writes run one at a time per database in the process
// (see account-data.ts for why).
import { sql } from "kysely";
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";
import { chunks } from "./room-state.ts";

export interface ToDeviceDelivery {
  readonly userId: string;
  readonly deviceId: string;
  /** The event as the device receives it: sender, type, content. */
  readonly message: JsonObject;
}

export interface StoredToDeviceMessage {
  readonly streamId: number;
  readonly message: JsonObject;
}

/** Who sent a transaction: the sender's user and device ('' for a token without a device). */
export interface ToDeviceTransaction {
  readonly userId: string;
  readonly deviceId: string;
  readonly txnId: string;
}

const writeTails = new WeakMap<Database, Promise<unknown>>();

export class ToDeviceStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * Stores the messages of a transaction, unless the transaction was applied already (then nothing
   * is stored and undefined is returned). Returns the position of the last message stored.
   */
  async enqueue(txn: ToDeviceTransaction, deliveries: readonly ToDeviceDelivery[]): Promise<number | undefined> {
    return await this.#serially(() =>
      this.#db.write("enqueue_to_device", async (trx) => {
        const inserted = await trx
          .insertInto("to_device_txns")
          .values({ user_id: txn.userId, device_id: txn.deviceId, txn_id: txn.txnId, created_ts: this.#now() })
          .onConflict((oc) => oc.columns(["user_id", "device_id", "txn_id"]).doNothing())
          .returning("txn_id")
          .executeTakeFirst();
        if (inserted === undefined) return undefined;
        let position = 0;
        for (const chunk of chunks(deliveries, 500)) {
          const rows = await trx
            .insertInto("to_device_messages")
            .values(chunk.map((d) => ({ user_id: d.userId, device_id: d.deviceId, message_json: JSON.stringify(d.message) })))
            .returning("stream_id")
            .execute();
          for (const r of rows) position = Math.max(position, r.stream_id);
        }
        return position;
      }),
    );
  }

  /** The device's messages with after < position <= upTo, oldest first, at most `limit`. */
  async pending(userId: string, deviceId: string, after: number, upTo: number, limit: number): Promise<StoredToDeviceMessage[]> {
    if (upTo <= after || limit <= 0) return [];
    const rows = await this.#db.read("get_to_device_messages", (trx) =>
      trx
        .selectFrom("to_device_messages")
        .select(["stream_id", "message_json"])
        .where("user_id", "=", userId)
        .where("device_id", "=", deviceId)
        .where("stream_id", ">", after)
        .where("stream_id", "<=", upTo)
        .orderBy("stream_id")
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ streamId: r.stream_id, message: JSON.parse(r.message_json) as JsonObject }));
  }

  /** Deletes the device's messages at or before `upTo`: it received them. */
  async deleteUpTo(userId: string, deviceId: string, upTo: number): Promise<number> {
    const result = await this.#db.write("delete_to_device_messages", (trx) =>
      trx.deleteFrom("to_device_messages").where("user_id", "=", userId).where("device_id", "=", deviceId).where("stream_id", "<=", upTo).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  /** Deletes everything of deleted devices: their pending messages and their transaction IDs. */
  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.#db.write("delete_devices_to_device", async (trx) => {
      for (const chunk of chunks(deviceIds)) {
        await trx.deleteFrom("to_device_messages").where("user_id", "=", userId).where("device_id", "in", chunk).execute();
        await trx.deleteFrom("to_device_txns").where("user_id", "=", userId).where("device_id", "in", chunk).execute();
      }
    });
  }

  /** Forgets transaction IDs recorded before `beforeTs` (a client retries within minutes, not days). */
  async deleteTransactionsBefore(beforeTs: number): Promise<void> {
    await this.#db.write("delete_old_to_device_txns", (trx) => trx.deleteFrom("to_device_txns").where("created_ts", "<", beforeTs).execute());
  }

  /**
   * The highest position handed out so far (0 for none). Read from the ID sequence, not the rows:
   * acknowledged messages are deleted, and the stream's position must not go back at a restart.
   */
  async maxStreamId(): Promise<number> {
    const row = await this.#db.read("to_device_max_stream_id", async (trx) => {
      const query =
        this.#db.engine === "sqlite"
          ? sql<{ max: number | string | null }>`select seq as max from sqlite_sequence where name = 'to_device_messages'`
          : sql<{ max: number | string | null }>`select pg_sequence_last_value(pg_get_serial_sequence('to_device_messages', 'stream_id')) as max`;
      return (await query.execute(trx)).rows[0];
    });
    return Number(row?.max ?? 0);
  }

  #serially<T>(run: () => Promise<T>): Promise<T> {
    const result = (writeTails.get(this.#db) ?? Promise.resolve()).then(run, run);
    writeTails.set(this.#db, result.catch(() => undefined));
    return result;
  }
}
