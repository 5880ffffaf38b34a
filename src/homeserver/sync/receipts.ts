// Receipts (modules/receipts.md, receipts.yaml): "up to" markers per (room, receipt type, user,
// thread), persisted as a stream (storage/stores/receipts.ts) that /sync reads into one m.receipt
// event per room. m.read.private is only ever shown to its own user.
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { ReceiptStore, StoredReceipt } from "../../storage/stores/receipts.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Notifier } from "./notifier.ts";
import { rememberRecent } from "../../core/recent-map.ts";

export const READ = "m.read";
export const READ_PRIVATE = "m.read.private";
/** modules/receipts.md#threaded-read-receipts: the thread ID of the main timeline. */
export const MAIN_THREAD = "main";

/** What receipts need to know of an event. */
export interface ReceiptedEvent {
  readonly roomId: string;
  readonly content: JsonObject;
  readonly streamOrdering: number | undefined;
}

export interface ReceiptServiceOptions {
  readonly store: ReceiptStore;
  readonly notifier: Notifier;
  /** The event, if this server has it (and it is not an outlier). */
  readonly getEvent: (eventId: string) => Promise<ReceiptedEvent | undefined>;
  /** Whether the user is joined to the room now. */
  readonly isJoined: (roomId: string, userId: string) => Promise<boolean>;
  /** Told of every receipt a user sends (presence counts it as activity). */
  readonly onReceipt?: (userId: string) => void;
  readonly clock?: Clock;
}

/** A receipt as sent: by a local user (onLocalReceipt) or received from another server. */
export interface ReceiptChange {
  readonly roomId: string;
  readonly receiptType: string;
  readonly userId: string;
  /** Undefined for an unthreaded receipt. */
  readonly threadId: string | undefined;
  readonly eventId: string;
  readonly ts: number;
}

/** Where a user has read up to in a room, as stream orderings (for unread counts). */
export interface ReadUpTo {
  /** The later of the unthreaded m.read and m.read.private receipts. */
  readonly unthreaded: number;
  /** Per thread ID (`main` or a thread root), the later of the threaded receipts. */
  readonly threads: ReadonlyMap<string, number>;
}

const MAX_CACHED_USERS = 10_000;

interface ReadUpToEntry {
  unthreaded: number;
  readonly threads: Map<string, number>;
}

// modules/receipts.md: between m.read and m.read.private, "the receipt which is more ahead" counts.
function addReadUpTo(out: Map<string, ReadUpToEntry>, roomId: string, threadId: string | undefined, position: number | undefined): void {
  if (position === undefined) return;
  let entry = out.get(roomId);
  if (entry === undefined) out.set(roomId, (entry = { unthreaded: 0, threads: new Map() }));
  if (threadId === undefined) entry.unthreaded = Math.max(entry.unthreaded, position);
  else entry.threads.set(threadId, Math.max(entry.threads.get(threadId) ?? 0, position));
}

/** The thread an event's content puts it in (one hop: its m.thread relation), if any. */
export function threadOf(content: JsonObject): string | undefined {
  const relation = content["m.relates_to"];
  if (!isJsonObject(relation) || relation["rel_type"] !== "m.thread") return undefined;
  const root = relation["event_id"];
  return typeof root === "string" ? root : undefined;
}

/** modules/receipts.md#threaded-read-receipts: how many relations are followed to find an event's thread. */
const MAX_THREAD_HOPS = 3;

/** The event a non-thread relation (an edit, a reaction...) points to, if any. */
function parentOf(content: JsonObject): string | undefined {
  const relation = content["m.relates_to"];
  if (!isJsonObject(relation) || relation["rel_type"] === "m.thread") return undefined;
  const parent = relation["event_id"];
  return typeof parent === "string" ? parent : undefined;
}

export class ReceiptService {
  readonly #store: ReceiptStore;
  readonly #notifier: Notifier;
  readonly #getEvent: ReceiptServiceOptions["getEvent"];
  readonly #isJoined: ReceiptServiceOptions["isJoined"];
  readonly #onReceipt: (userId: string) => void;
  readonly #clock: Clock;
  #position = 0;
  readonly #readUpTo = new Map<string, Map<string, ReadUpToEntry>>();
  #generation = 0;
  readonly #listeners = new Set<(receipt: ReceiptChange) => void>();
  readonly #storedListeners = new Set<(receipt: ReceiptChange) => void>();

  constructor(options: ReceiptServiceOptions) {
    this.#store = options.store;
    this.#notifier = options.notifier;
    this.#getEvent = options.getEvent;
    this.#isJoined = options.isJoined;
    this.#onReceipt = options.onReceipt ?? (() => undefined);
    this.#clock = options.clock ?? systemClock;
  }

  /** Reads the stream's position from storage; call once before serving. */
  async start(): Promise<void> {
    this.#position = Math.max(this.#position, await this.#store.maxStreamId());
  }

  /** The receipts stream's position: every change at or below it is committed. */
  get position(): number {
    return this.#position;
  }

  /**
   * POST /rooms/{roomId}/receipt/{receiptType}/{eventId} for m.read and m.read.private (m.fully_read
   * is the read markers' business). Throws the spec's 400 for a bad thread_id.
   */
  async sendReceipt(userId: string, roomId: string, receiptType: string, eventId: string, threadId: unknown): Promise<void> {
    if (receiptType !== READ && receiptType !== READ_PRIVATE) {
      throw new MatrixError("M_INVALID_PARAM", `Receipt type must be ${READ} or ${READ_PRIVATE}`, 400);
    }
    // receipts.yaml 400: "It is not a string. It is empty."
    if (threadId !== undefined && (typeof threadId !== "string" || threadId.length === 0)) {
      throw new MatrixError("M_INVALID_PARAM", "thread_id field must be a non-empty string", 400);
    }
    if (!(await this.#isJoined(roomId, userId))) throw new MatrixError("M_FORBIDDEN", "You are not joined to this room", 403);
    const event = await this.#getEvent(eventId);
    if (event === undefined || event.roomId !== roomId) throw new MatrixError("M_NOT_FOUND", "Event not found in this room", 404);
    if (threadId !== undefined) await this.#checkThread(eventId, event, threadId);
    const ts = this.#clock.now();
    const written = await this.#put({ roomId, receiptType, userId, threadId, eventId, ts }, event.streamOrdering);
    this.#onReceipt(userId);
    if (!written) return;
    for (const listener of this.#listeners) listener({ roomId, receiptType, userId, threadId, eventId, ts });
  }

  // receipts.yaml 400: "The event_id is not related to the thread_id". modules/receipts.md#threaded-
  // read-receipts: an event is in a thread through its m.thread relation or, "following the event
  // relationships", a parent's ("a maximum of 3 hops is recommended"); a thread root is in `main`.
  async #checkThread(eventId: string, event: ReceiptedEvent, threadId: string): Promise<void> {
    let thread = threadOf(event.content);
    let current: ReceiptedEvent | undefined = event;
    for (let hop = 0; thread === undefined && current !== undefined && hop < MAX_THREAD_HOPS; hop++) {
      const parent = parentOf(current.content);
      current = parent === undefined ? undefined : await this.#getEvent(parent);
      if (current !== undefined && current.roomId === event.roomId) thread = threadOf(current.content);
    }
    const ok = threadId === MAIN_THREAD ? thread === undefined : thread === threadId || eventId === threadId;
    if (!ok) throw new MatrixError("M_INVALID_PARAM", `Event ${eventId} is not in thread ${threadId}`, 400);
  }

  /**
   * Tells `listener` of every receipt a user of this server sends that moved (not those of other
   * servers' users, which come through receiveRemote). Returns the unsubscribe.
   */
  onLocalReceipt(listener: (receipt: ReceiptChange) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Tells `listener` of every receipt stored that moved, of this server's users and others'. Returns the unsubscribe. */
  onStoredReceipt(listener: (receipt: ReceiptChange) => void): () => void {
    this.#storedListeners.add(listener);
    return () => void this.#storedListeners.delete(listener);
  }

  /**
   * A receipt of another server's user, checked by the caller (the user is joined to the room).
   * The event may be one this server does not have (yet); one it has in another room is refused.
   * Returns whether it was stored.
   */
  async receiveRemote(receipt: ReceiptChange): Promise<boolean> {
    const event = await this.#getEvent(receipt.eventId);
    if (event !== undefined && event.roomId !== receipt.roomId) return false;
    // A server may send a receipt again (a retried transaction is deduplicated, a new one is not): not a change.
    return await this.#put(receipt, event?.streamOrdering, (current) => current.eventId === receipt.eventId);
  }

  async #put(receipt: ReceiptChange, eventStreamOrdering: number | undefined, unchanged: (current: StoredReceipt) => boolean = () => false): Promise<boolean> {
    const { roomId, receiptType, userId, threadId } = receipt;
    const streamId = await this.#store.put(
      { ...receipt, eventStreamOrdering },
      // A receipt never moves backwards (Synapse keeps the later one): "up to" already covers it.
      (current) =>
        unchanged(current) ||
        (current.eventStreamOrdering !== undefined && eventStreamOrdering !== undefined && current.eventStreamOrdering > eventStreamOrdering),
    );
    if (streamId === undefined) return false;
    this.#generation++;
    const cached = this.#readUpTo.get(userId);
    if (cached !== undefined) addReadUpTo(cached, roomId, threadId, eventStreamOrdering);
    this.#position = Math.max(this.#position, streamId);
    // A private receipt concerns its user alone; a public one every member of the room.
    this.#notifier.notify("receipts", streamId, receiptType === READ_PRIVATE ? { userIds: [userId] } : { roomIds: [roomId] });
    for (const listener of this.#storedListeners) listener(receipt);
    return true;
  }

  /**
   * The m.receipt event of each room with receipts changed in (since, upTo], as `userId` may see
   * them; `since` 0 gives every receipt of the rooms (an initial sync).
   */
  async receiptEvents(userId: string, roomIds: readonly string[], since: number, upTo: number): Promise<Map<string, JsonObject>> {
    const receipts = await this.#store.changesInRooms(roomIds, since, upTo);
    const byRoom = new Map<string, StoredReceipt[]>();
    for (const r of receipts) {
      // modules/receipts.md: "Servers MUST NOT send the m.read.private receipt to any other user".
      if (r.receiptType === READ_PRIVATE && r.userId !== userId) continue;
      const list = byRoom.get(r.roomId);
      if (list === undefined) byRoom.set(r.roomId, [r]);
      else list.push(r);
    }
    const out = new Map<string, JsonObject>();
    for (const [roomId, list] of byRoom) out.set(roomId, receiptEvent(list));
    return out;
  }

  /**
   * Where the user has read up to in each room (rooms without a receipt are absent). Kept in
   * memory per user once read: this process writes every receipt of its users.
   */
  async readUpTo(userId: string): Promise<ReadonlyMap<string, ReadUpTo>> {
    const cached = this.#readUpTo.get(userId);
    if (cached !== undefined) return cached;
    const generation = this.#generation;
    const out = new Map<string, ReadUpToEntry>();
    for (const r of await this.#store.ofUser(userId)) addReadUpTo(out, r.roomId, r.threadId, r.eventStreamOrdering);
    // A receipt written while reading may be missing from what was read: not kept then.
    if (generation === this.#generation) {
      rememberRecent(this.#readUpTo, userId, out, MAX_CACHED_USERS);
    }
    return out;
  }
}

/** m.receipt: event ID -> receipt type -> user ID -> {ts, thread_id?} (m.receipt.yaml). */
export function receiptEvent(receipts: readonly Omit<StoredReceipt, "streamId" | "eventStreamOrdering">[]): JsonObject {
  const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
  for (const r of receipts) {
    const byType = (content[r.eventId] ??= {});
    const byUser = (byType[r.receiptType] ??= {});
    // One event per room holds one receipt per (event, type, user): when a user's unthreaded and
    // threaded receipts are on the same event, the unthreaded one is shown, which covers the
    // thread's too (modules/receipts.md#threaded-read-receipts; Synapse's choice, MSC4102).
    if (r.threadId !== undefined && byUser[r.userId] !== undefined && byUser[r.userId]?.["thread_id"] === undefined) continue;
    byUser[r.userId] = r.threadId === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
  }
  return { type: "m.receipt", content };
}
