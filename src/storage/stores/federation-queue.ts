// What this server has to send to each destination server (server-server-api#transactions), kept
// in the database so that a restart resumes sending: PDUs by event ID, EDUs as they will be sent;
// and each destination's retry state (when to try again after failures, and whether it is to be
// caught up with the latest events of each room rather than everything it missed).
import type { Database } from "../database.ts";
import { fromFlag, toFlag } from "../schema.ts";
import { chunks } from "./room-state.ts";

export interface QueuedPdu {
  readonly id: number;
  readonly roomId: string;
  readonly eventId: string;
}

export interface QueuedEdu {
  readonly id: number;
  readonly eduType: string;
  /** The EDU's content as JSON text. */
  readonly content: string;
}

export interface PduToQueue {
  readonly destination: string;
  readonly roomId: string;
  readonly eventId: string;
}

export interface EduToQueue {
  readonly destination: string;
  readonly eduType: string;
  readonly content: string;
}

export interface DestinationRetry {
  readonly destination: string;
  readonly failureCount: number;
  /** Not before then. */
  readonly retryAfterTs: number;
  /** It missed events: send it the latest of each room and let it fetch the rest. */
  readonly catchingUp: boolean;
}

export class FederationQueueStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Queues PDUs and EDUs, in the order given, in one transaction. */
  async enqueue(pdus: readonly PduToQueue[], edus: readonly EduToQueue[], now: number): Promise<void> {
    if (pdus.length === 0 && edus.length === 0) return;
    await this.#db.write("enqueue_federation", async (trx) => {
      for (const chunk of chunks(pdus, 500)) {
        await trx
          .insertInto("federation_outbox_pdus")
          .values(chunk.map((p) => ({ destination: p.destination, room_id: p.roomId, event_id: p.eventId, created_ts: now })))
          .execute();
      }
      for (const chunk of chunks(edus, 500)) {
        await trx
          .insertInto("federation_outbox_edus")
          .values(chunk.map((e) => ({ destination: e.destination, edu_type: e.eduType, content: e.content, created_ts: now })))
          .execute();
      }
    });
  }

  /** The oldest queued PDUs and EDUs of a destination, at most the limits. */
  async peek(destination: string, pduLimit: number, eduLimit: number): Promise<{ pdus: QueuedPdu[]; edus: QueuedEdu[] }> {
    return await this.#db.read("peek_federation_queue", async (trx) => {
      const pdus = await trx
        .selectFrom("federation_outbox_pdus")
        .select(["id", "room_id", "event_id"])
        .where("destination", "=", destination)
        .orderBy("id")
        .limit(pduLimit)
        .execute();
      const edus = await trx
        .selectFrom("federation_outbox_edus")
        .select(["id", "edu_type", "content"])
        .where("destination", "=", destination)
        .orderBy("id")
        .limit(eduLimit)
        .execute();
      return {
        pdus: pdus.map((r) => ({ id: Number(r.id), roomId: r.room_id, eventId: r.event_id })),
        edus: edus.map((r) => ({ id: Number(r.id), eduType: r.edu_type, content: r.content })),
      };
    });
  }

  /** Removes what was delivered. */
  async remove(destination: string, pduIds: readonly number[], eduIds: readonly number[]): Promise<void> {
    if (pduIds.length === 0 && eduIds.length === 0) return;
    await this.#db.write("dequeue_federation", async (trx) => {
      for (const chunk of chunks(pduIds)) {
        await trx.deleteFrom("federation_outbox_pdus").where("destination", "=", destination).where("id", "in", chunk).execute();
      }
      for (const chunk of chunks(eduIds)) {
        await trx.deleteFrom("federation_outbox_edus").where("destination", "=", destination).where("id", "in", chunk).execute();
      }
    });
  }

  /** How many PDUs and EDUs wait for a destination. */
  async pending(destination: string): Promise<{ pdus: number; edus: number }> {
    return await this.#db.read("count_federation_queue", async (trx) => {
      const pdus = await trx
        .selectFrom("federation_outbox_pdus")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("destination", "=", destination)
        .executeTakeFirst();
      const edus = await trx
        .selectFrom("federation_outbox_edus")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("destination", "=", destination)
        .executeTakeFirst();
      return { pdus: Number(pdus?.n ?? 0), edus: Number(edus?.n ?? 0) };
    });
  }

  /** Every destination something waits for. */
  async destinationsWithPending(): Promise<string[]> {
    const rows = await this.#db.read("get_federation_queue_destinations", async (trx) => {
      const pdus = await trx.selectFrom("federation_outbox_pdus").select("destination").distinct().execute();
      const edus = await trx.selectFrom("federation_outbox_edus").select("destination").distinct().execute();
      return [...pdus, ...edus];
    });
    return [...new Set(rows.map((r) => r.destination))].sort();
  }

  /**
   * Catch-up: keeps only the newest queued PDU of each room (the destination fetches what lies
   * between with get_missing_events) and drops typing notifications, which are stale by now.
   * Returns how many PDUs were dropped.
   */
  async compactForCatchUp(destination: string): Promise<number> {
    return await this.#db.write("compact_federation_queue", async (trx) => {
      const newest = trx
        .selectFrom("federation_outbox_pdus")
        .select((eb) => eb.fn.max("id").as("id"))
        .where("destination", "=", destination)
        .groupBy("room_id");
      const deleted = await trx
        .deleteFrom("federation_outbox_pdus")
        .where("destination", "=", destination)
        .where("id", "not in", newest)
        .executeTakeFirst();
      await trx.deleteFrom("federation_outbox_edus").where("destination", "=", destination).where("edu_type", "=", "m.typing").execute();
      return Number(deleted.numDeletedRows);
    });
  }

  async getRetry(destination: string): Promise<DestinationRetry | undefined> {
    const row = await this.#db.read("get_federation_destination", (trx) =>
      trx.selectFrom("federation_destinations").selectAll().where("destination", "=", destination).executeTakeFirst(),
    );
    return row === undefined ? undefined : toRetry(row);
  }

  /** Every destination with a retry state. */
  async retries(): Promise<DestinationRetry[]> {
    const rows = await this.#db.read("get_federation_destinations", (trx) => trx.selectFrom("federation_destinations").selectAll().execute());
    return rows.map(toRetry);
  }

  async setRetry(retry: DestinationRetry): Promise<void> {
    const row = {
      destination: retry.destination,
      failure_count: retry.failureCount,
      retry_after_ts: retry.retryAfterTs,
      catching_up: toFlag(retry.catchingUp),
    };
    await this.#db.write("set_federation_destination", (trx) =>
      trx
        .insertInto("federation_destinations")
        .values(row)
        .onConflict((oc) => oc.column("destination").doUpdateSet({ failure_count: row.failure_count, retry_after_ts: row.retry_after_ts, catching_up: row.catching_up }))
        .execute(),
    );
  }

  /** The destination answered: it is up to date (nothing stored means healthy). */
  async clearRetry(destination: string): Promise<void> {
    await this.#db.write("clear_federation_destination", (trx) =>
      trx.deleteFrom("federation_destinations").where("destination", "=", destination).execute(),
    );
  }
}

function toRetry(row: { destination: string; failure_count: number; retry_after_ts: number | string; catching_up: number | boolean }): DestinationRetry {
  return {
    destination: row.destination,
    failureCount: Number(row.failure_count),
    retryAfterTs: Number(row.retry_after_ts),
    catchingUp: fromFlag(row.catching_up),
  };
}
