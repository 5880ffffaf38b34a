// Receipts over federation (server-server-api#receipts, m.receipt.yaml): a local user's public
// read receipt goes as m.receipt to the room's other servers; those received are stored as the
// room's receipts, which /sync serves to its local members.
//
// modules/receipts.md#server-behaviour: "only a single <receipt_type> should be used: m.read.
// m.read.private MUST NOT appear in this federated m.receipt EDU" — so only m.read is sent, and
// only m.read is taken. The EduDispatcher (edus.ts) has already dropped the rooms the ACL denies
// the origin and the users of other servers than the origin; the user must also be joined here.
import { parseEventId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { READ, type ReceiptChange, type ReceiptService } from "../sync/receipts.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

/** Identifiers are at most 255 bytes (appendices#identifier-grammar); a thread ID is an event ID or `main`. */
const MAX_THREAD_ID_LENGTH = 255;

export interface ReceiptEduDeps {
  readonly serverName: string;
  readonly receipts: ReceiptService;
  /** The servers with a joined member in the room (ours included). */
  readonly serversInRoom: (roomId: string) => Promise<readonly string[]>;
  /** The user's membership in the room's current state (undefined for a room unknown here). */
  readonly membership: (roomId: string, userId: string) => Promise<string | undefined>;
  readonly enqueueEdu: (destination: string, edu: Edu) => void;
  readonly onError?: (err: unknown) => void;
}

export class ReceiptEdus {
  readonly #deps: ReceiptEduDeps;
  readonly #unsubscribe: () => void;
  /** Receipts of this turn of the event loop, sent together. */
  #pending: ReceiptChange[] = [];
  #sending: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(deps: ReceiptEduDeps) {
    this.#deps = deps;
    this.#unsubscribe = deps.receipts.onLocalReceipt((receipt) => this.#localReceipt(receipt));
  }

  /** The m.receipt EDU handler: room ID -> receipt type -> user ID -> {event_ids, data}. */
  readonly handler: EduHandler = async (origin, content) => {
    for (const [roomId, byType] of Object.entries(content)) {
      if (!isJsonObject(byType)) continue;
      const byUser = byType[READ];
      if (!isJsonObject(byUser)) continue;
      for (const [userId, receipt] of Object.entries(byUser)) {
        const parsed = parseReceipt(roomId, userId, receipt);
        if (parsed === undefined || serverNameOf(userId) !== origin || origin === this.#deps.serverName) continue;
        if ((await this.#deps.membership(roomId, userId)) !== "join") continue;
        await this.#deps.receipts.receiveRemote(parsed);
      }
    }
  };

  /** Settles once the receipts seen so far are queued for sending (tests). */
  async settled(): Promise<void> {
    while (this.#scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.#sending;
  }

  close(): void {
    this.#unsubscribe();
  }

  #localReceipt(receipt: ReceiptChange): void {
    if (receipt.receiptType !== READ || serverNameOf(receipt.userId) !== this.#deps.serverName) return;
    this.#pending.push(receipt);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#pending;
      this.#pending = [];
      this.#sending = this.#sending.then(() => this.#send(batch)).catch((err: unknown) => this.#deps.onError?.(err));
    });
  }

  // One m.receipt per destination holds the batch's rooms and users; a user with two receipts in
  // one room (two threads) needs a second EDU, since the EDU has one entry per user and room.
  async #send(batch: readonly ReceiptChange[]): Promise<void> {
    const servers = new Map<string, readonly string[]>();
    const byDestination = new Map<string, Array<Record<string, Record<string, Record<string, JsonObject>>>>>();
    for (const r of batch) {
      let inRoom = servers.get(r.roomId);
      if (inRoom === undefined) servers.set(r.roomId, (inRoom = await this.#deps.serversInRoom(r.roomId)));
      const data: JsonObject = r.threadId === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
      for (const destination of inRoom) {
        if (destination === this.#deps.serverName) continue;
        const contents = byDestination.get(destination) ?? [];
        byDestination.set(destination, contents);
        let content = contents.find((c) => c[r.roomId]?.[READ]?.[r.userId] === undefined);
        if (content === undefined) contents.push((content = {}));
        const byType = (content[r.roomId] ??= {});
        (byType[READ] ??= {})[r.userId] = { event_ids: [r.eventId], data };
      }
    }
    for (const [destination, contents] of byDestination) {
      for (const content of contents) this.#deps.enqueueEdu(destination, { edu_type: "m.receipt", content: content as JsonObject });
    }
  }
}

// m.receipt.yaml "User Read Receipt": event_ids (one, the event read up to), data.ts, data.thread_id.
function parseReceipt(roomId: string, userId: string, receipt: unknown): ReceiptChange | undefined {
  if (!isJsonObject(receipt) || !isJsonObject(receipt["data"])) return undefined;
  const eventIds = receipt["event_ids"];
  const eventId = Array.isArray(eventIds) ? eventIds[0] : undefined;
  if (typeof eventId !== "string" || parseEventId(eventId) === undefined) return undefined;
  const { ts, thread_id: threadId } = receipt["data"];
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) return undefined;
  if (threadId !== undefined && (typeof threadId !== "string" || threadId.length === 0 || threadId.length > MAX_THREAD_ID_LENGTH)) return undefined;
  return { roomId, receiptType: READ, userId, threadId, eventId, ts };
}
