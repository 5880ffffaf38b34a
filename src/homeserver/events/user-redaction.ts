// Redacting the events of a user on an admin's request (Synapse's admin API, POST
// /_synapse/admin/v1/user/{userId}/redact): the clean-up after a spammer. A job looks at the user's
// latest events in each room asked for (every room the user has a membership in, when none is
// named) and redacts them, newest first, with the client-server API's redaction rules: as the user
// themself for a user of ours (anyone may redact their own events), otherwise, or when the admin
// asks for it, as the admin, who then needs the room's `redact` power level. An event that cannot
// be redacted (the sender is no longer in the room, too little power) is noted with why, and the
// job goes on.
//
// What is redacted: the user's messages and other non-state events, and their own m.room.member
// events (a spammer's display name and avatar are often the abuse). Other state they sent (names,
// topics, power levels of a room they ran) is left alone: a clean-up must not take a room's
// settings apart. Redactions are not redacted, nor events already redacted.
//
// Jobs are stored when asked for and run one at a time, in the background. A job cut short by a
// stop or a crash runs again at the next start: each redaction is sent under a transaction ID of
// the job's own, so one already sent is answered from the transaction store instead of sent twice,
// and events already redacted are skipped. Statuses are kept for a day after a job ends, as Synapse
// keeps its task results.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { MatrixError } from "../../core/errors.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { actingAs, type Requester } from "../../http/endpoint.ts";
import type { AdminRedactionStore, RedactionJob, RedactionRequest } from "../../storage/stores/admin-redactions.ts";
import type { SentEvent } from "../../storage/stores/room-timeline.ts";

/** How long a finished job's status can be read. */
const STATUS_KEPT_MS = 24 * 60 * 60 * 1000;

export interface UserRedactionDeps {
  readonly serverName: string;
  readonly store: AdminRedactionStore;
  /** The rooms the user has a membership in, of any kind. */
  readonly roomsOf: (userId: string) => Promise<string[]>;
  /** The user's latest events in a room (RoomTimelineStore.sentBy). */
  readonly sentBy: (roomId: string, sender: string, limit: number, afterTs?: number, beforeTs?: number) => Promise<SentEvent[]>;
  /** PUT /rooms/{roomId}/redact/{eventId}/{txnId} as the requester (EventSender.redact). */
  readonly redact: (requester: Requester, roomId: string, eventId: string, txnId: string, reason: string | undefined) => Promise<string>;
  readonly logger: Pick<Logger, "error" | "info">;
  readonly now?: () => number;
}

export class UserRedactions {
  readonly #deps: UserRedactionDeps;
  readonly #now: () => number;
  /** The jobs, one after another. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(deps: UserRedactionDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Runs again the jobs a stop or a crash cut short, and forgets statuses past their day. */
  start(): Promise<void> {
    const started = (async () => {
      await this.#deps.store.purgeFinishedBefore(this.#now() - STATUS_KEPT_MS);
      for (const job of await this.#deps.store.unfinished()) this.#enqueue(job);
    })().catch((err: unknown) => this.#deps.logger.error({ err }, "user redaction: resuming the unfinished jobs failed"));
    // The jobs queued after it wait for it, and so does close().
    this.#queue = this.#queue.then(() => started);
    return started;
  }

  /** Stores a job and starts it once the jobs before it are done; its ID. */
  async request(userId: string, adminUserId: string, request: RedactionRequest): Promise<string> {
    const redactId = randomBytes(16).toString("base64url");
    const createdTs = this.#now();
    await this.#deps.store.purgeFinishedBefore(createdTs - STATUS_KEPT_MS);
    await this.#deps.store.add({ redactId, userId, adminUserId, request, createdTs });
    this.#enqueue({ redactId, userId, adminUserId, request, status: "scheduled", failed: {}, createdTs, finishedTs: undefined });
    return redactId;
  }

  /** The job, while its status may be read. */
  async status(redactId: string): Promise<RedactionJob | undefined> {
    const job = await this.#deps.store.get(redactId);
    if (job?.finishedTs !== undefined && job.finishedTs < this.#now() - STATUS_KEPT_MS) return undefined;
    return job;
  }

  /** Stops after the redaction under way; the job left unfinished runs at the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }

  #enqueue(job: RedactionJob): void {
    this.#queue = this.#queue.then(() => this.#run(job)).catch((err: unknown) => this.#deps.logger.error({ err, redactId: job.redactId }, "user redaction: a job failed"));
  }

  async #run(job: RedactionJob): Promise<void> {
    if (this.#closed) return;
    const { store } = this.#deps;
    const failed: Record<string, string> = { ...job.failed };
    try {
      await store.update(job.redactId, "active", failed);
      const rooms = job.request.rooms.length > 0 ? job.request.rooms : await this.#deps.roomsOf(job.userId);
      const sender = this.#sender(job);
      for (const roomId of rooms) {
        if (this.#closed) return;
        const { limit, afterTs, beforeTs, reason } = job.request;
        for (const event of await this.#deps.sentBy(roomId, job.userId, limit, afterTs, beforeTs)) {
          if (this.#closed) break;
          if (!redactable(event)) continue;
          try {
            await this.#deps.redact(sender, roomId, event.eventId, job.redactId, reason);
          } catch (err) {
            failed[event.eventId] = err instanceof MatrixError ? `${err.errcode}: ${err.message}` : String(err);
          }
        }
        // How far it got, so that a status read meanwhile shows the failures so far.
        await store.update(job.redactId, "active", failed);
      }
      if (this.#closed) return;
      await store.update(job.redactId, "completed", failed, this.#now());
      this.#deps.logger.info({ redactId: job.redactId, userId: job.userId, failed: Object.keys(failed).length }, "user redaction: done");
    } catch (err) {
      await store.update(job.redactId, "failed", failed, this.#now());
      throw err;
    }
  }

  /** Who sends the job's redactions: the user themself when ours (unless the admin asked to), else the admin. */
  #sender(job: RedactionJob): Requester {
    const ours = serverNameOf(job.userId) === this.#deps.serverName;
    const userId = ours && !job.request.useAdmin ? job.userId : job.adminUserId;
    return actingAs(userId);
  }
}

/** Whether a job redacts the event (see the top of the file). */
function redactable(event: SentEvent): boolean {
  if (event.redacted || event.type === "m.room.redaction") return false;
  return !event.isState || event.type === "m.room.member";
}
