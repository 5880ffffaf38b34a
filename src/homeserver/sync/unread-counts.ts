// unread_notifications and unread_thread_notifications of /sync (client-server-api#receiving-
// notifications): the events from others after the user's read receipt (or, without one, after
// their membership) that the user's push rules say notify, and of those the ones they highlight
// (useRules; the push area gives the rules), as they are when the event is counted. Without rules
// (units alone), events are counted as the default rules would: messages, encrypted events and
// call invites notify, notices, edits and stickers do not; a message mentioning the user
// (m.mentions user_ids) is a highlight.
// Threads per modules/receipts.md#threaded-read-receipts: an event in thread T is read when the
// unthreaded receipt or T's receipt is at or after it.
//
// Each room's countable events are kept in memory from the position they were first needed from,
// extended by the roomserver's outputs, so incremental syncs count without reading storage.
import type { RoomEvent } from "../../core/events/room-event.ts";
import { isJsonObject } from "../../core/json.ts";
import type { RoomEventInfo, RoomserverOutput } from "../roomserver/index.ts";
import { MAIN_THREAD, threadOf, type ReadUpTo } from "./receipts.ts";
import type { SyncTimeline } from "./sources.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** How many events back a room is read at most: counts beyond it are not made. */
const MAX_SCAN = 1_000;
/** How many countable events a room keeps before the oldest half is dropped. */
const MAX_KEPT = 2_000;
const MAX_ROOMS = 20_000;
/**
 * How many events all the rooms keep at most: entries hold the events themselves (the rules read
 * them), so past this the rooms loaded first are dropped, and read again from storage when needed.
 */
const MAX_KEPT_IN_ALL = 100_000;

interface Countable {
  readonly streamOrdering: number;
  readonly event: RoomEvent;
  readonly thread: string | undefined;
}

/** What a user's push rules say of an event: whether it notifies, and whether it highlights. */
export interface Verdict {
  readonly notify: boolean;
  readonly highlight: boolean;
}

/** The push rules of users, applied to a room's events: a judge per user and room, its facts read once. */
export interface UnreadRules {
  judge(userId: string, roomId: string): Promise<(event: RoomEvent) => Promise<Verdict>>;
}

interface RoomLog {
  /** Countable events after `from` are all in `entries`, in stream order (see `capped`). */
  from: number;
  entries: Countable[];
  /** Older events were dropped or never read (past MAX_SCAN): counts reaching past `from` stop there. */
  capped: boolean;
  /**
   * Changed when events before the end change (a redaction, a read further back): memos start over.
   * Unique among logs, so that a room dropped and read again is counted afresh.
   */
  generation: number;
}

// The last counts made for a (room, user), to which an incremental sync adds only what is new.
interface Memo {
  readonly after: number;
  readonly readKey: string;
  readonly ignored: ReadonlySet<string>;
  readonly threaded: boolean;
  readonly generation: number;
  readonly to: number;
  readonly counts: UnreadCounts;
}

const MAX_MEMOS = 50_000;

export interface NotificationCounts {
  readonly notification_count: number;
  readonly highlight_count: number;
}

export interface UnreadCounts {
  readonly room: NotificationCounts;
  /** Per thread root, when counted apart (unread_thread_notifications). */
  readonly threads: ReadonlyMap<string, NotificationCounts>;
}

/** An event the rules may count: a timeline event that is not state, not redacted. */
function countableOf(info: RoomEventInfo, streamOrdering: number): Countable | undefined {
  const { event } = info;
  if (info.redactedBy !== undefined || event.stateKey !== undefined) return undefined;
  return { streamOrdering, event, thread: threadOf(event.content) };
}

/** How the default rules would count an event, without them at hand. */
function defaultVerdict(event: RoomEvent, userId: string): Verdict {
  const content = event.content;
  const none = { notify: false, highlight: false };
  if (event.type === "m.room.message") {
    if (content["msgtype"] === "m.notice" || typeof content["msgtype"] !== "string") return none;
  } else if (event.type !== "m.room.encrypted" && event.type !== "m.call.invite") {
    // modules/push.md default underrides: .m.rule.call, .m.rule.encrypted and .m.rule.message notify; no rule matches m.sticker.
    return none;
  }
  const relation = content["m.relates_to"];
  if (isJsonObject(relation) && relation["rel_type"] === "m.replace") return none;
  const mentioned = isJsonObject(content["m.mentions"]) ? content["m.mentions"]["user_ids"] : undefined;
  return { notify: true, highlight: Array.isArray(mentioned) && mentioned.includes(userId) };
}

export class UnreadCounter {
  readonly #timeline: SyncTimeline;
  readonly #rooms = new Map<string, RoomLog>();
  /** Rooms being read for the first time, with the outputs that arrived meanwhile. */
  readonly #loading = new Map<string, { readonly done: Promise<void>; readonly arrived: Countable[] }>();
  readonly #memos = new Map<string, Memo>();
  #rules: UnreadRules | undefined;
  /** Events kept in all the rooms' logs. */
  #kept = 0;
  #generations = 0;
  readonly #maxKeptInAll: number;

  /** `maxKeptInAll`: the events all rooms keep at most (MAX_KEPT_IN_ALL; tests lower it). */
  constructor(timeline: SyncTimeline, options: { readonly maxKeptInAll?: number } = {}) {
    this.#timeline = timeline;
    this.#maxKeptInAll = options.maxKeptInAll ?? MAX_KEPT_IN_ALL;
  }

  /** Counts by the users' push rules from now on (the push area plugs them in). */
  useRules(rules: UnreadRules): void {
    this.#rules = rules;
  }

  /** A roomserver output (new events extend the rooms kept; redactions take events out). */
  receive(output: RoomserverOutput): void {
    const log = this.#rooms.get(output.roomId);
    if (output.kind === "redaction_applied") {
      if (log !== undefined) {
        const before = log.entries.length;
        log.entries = log.entries.filter((e) => e.event.eventId !== output.redactedEventId);
        this.#kept -= before - log.entries.length;
        log.generation = ++this.#generations;
      }
      return;
    }
    const countable = countableOf({ event: output.event, redactedBy: undefined } as RoomEventInfo, output.streamOrdering);
    if (countable === undefined) return;
    if (log === undefined) {
      this.#loading.get(output.roomId)?.arrived.push(countable);
      return;
    }
    if (output.streamOrdering <= log.from) return;
    const before = log.entries.length;
    if (!insert(log.entries, countable)) log.generation = ++this.#generations; // it landed before the end
    this.#kept += log.entries.length - before;
    if (log.entries.length > MAX_KEPT) {
      const dropped = log.entries.splice(0, MAX_KEPT / 2);
      this.#kept -= dropped.length;
      log.from = (dropped.at(-1) as Countable).streamOrdering;
      log.capped = true;
    }
    this.#trim(log);
  }

  /**
   * The counts for `userId` in the room: events in (after, to] from others, not ignored, after
   * what the user has read. `threaded` counts thread events apart (unread_thread_notifications).
   */
  async counts(
    roomId: string,
    userId: string,
    after: number,
    to: number,
    readUpTo: ReadUpTo | undefined,
    ignored: ReadonlySet<string>,
    threaded: boolean,
  ): Promise<UnreadCounts> {
    const lowest = Math.max(after, readUpTo === undefined ? 0 : Math.min(readUpTo.unthreaded, ...readUpTo.threads.values()));
    const log = await this.#load(roomId, lowest);
    const readKey = readUpTo === undefined ? "" : JSON.stringify([readUpTo.unthreaded, ...readUpTo.threads]);
    const memoKey = `${roomId}\u0000${userId}`;
    const memo = this.#memos.get(memoKey);
    const fits =
      memo !== undefined &&
      memo.after === after &&
      memo.readKey === readKey &&
      memo.ignored === ignored &&
      memo.threaded === threaded &&
      memo.generation === log.generation &&
      memo.to <= to;
    const tally = new Tally(fits ? memo.counts : undefined);
    // Only the events the memo has not counted yet, found by binary search.
    const from = Math.max(lowest, fits ? memo.to : 0);
    let judge: ((event: RoomEvent) => Promise<Verdict>) | undefined;
    for (let i = firstAfter(log.entries, from); i < log.entries.length; i++) {
      const e = log.entries[i] as Countable;
      if (e.streamOrdering > to) break;
      const sender = e.event.sender;
      if (sender === userId || ignored.has(sender)) continue;
      const read = Math.max(readUpTo?.unthreaded ?? 0, readUpTo?.threads.get(e.thread ?? MAIN_THREAD) ?? 0);
      if (e.streamOrdering <= read) continue;
      // The room's facts are read once, and only when there is something to count.
      if (this.#rules !== undefined) judge ??= await this.#rules.judge(userId, roomId);
      const verdict = judge === undefined ? defaultVerdict(e.event, userId) : await judge(e.event);
      if (verdict.notify) tally.add(threaded ? e.thread : undefined, verdict.highlight);
    }
    const counts = tally.result();
    rememberRecent(this.#memos, memoKey, { after, readKey, ignored, threaded, generation: log.generation, to, counts }, MAX_MEMOS);
    return counts;
  }

  // The room's log, covering every countable event after `from` (past MAX_SCAN events back, or
  // MAX_KEPT kept, the older ones are left uncounted).
  async #load(roomId: string, from: number): Promise<RoomLog> {
    for (;;) {
      const known = this.#rooms.get(roomId);
      if (known !== undefined && (known.from <= from || known.capped)) return known;
      const loading = this.#loading.get(roomId);
      if (loading !== undefined) {
        await loading.done;
        continue;
      }
      const arrived: Countable[] = [];
      const done = this.#read(roomId, from, known?.from).then(({ events: older, capped }) => {
        const current = this.#rooms.get(roomId);
        if (current !== undefined) {
          const before = current.entries.length;
          for (const e of older) if (e.streamOrdering > from && e.streamOrdering <= current.from) insert(current.entries, e);
          this.#kept += current.entries.length - before;
          current.from = Math.min(current.from, from);
          current.capped ||= capped;
          current.generation = ++this.#generations;
          this.#trim(current);
          return;
        }
        const log: RoomLog = { from, entries: older, capped, generation: ++this.#generations };
        for (const e of arrived) insert(log.entries, e);
        this.#rooms.set(roomId, log);
        this.#kept += log.entries.length;
        this.#trim(log);
      });
      this.#loading.set(roomId, { done: done.catch(() => undefined), arrived });
      try {
        await done;
      } finally {
        this.#loading.delete(roomId);
      }
    }
  }

  // Drops the rooms loaded first while too many rooms, or events in all, are kept (never `keep`).
  #trim(keep: RoomLog): void {
    for (const [roomId, log] of this.#rooms) {
      if (this.#rooms.size <= MAX_ROOMS && this.#kept <= this.#maxKeptInAll) return;
      if (log === keep) continue;
      this.#rooms.delete(roomId);
      this.#kept -= log.entries.length;
    }
  }

  // The countable events in (from, upTo] (upTo undefined: up to the newest), oldest first.
  async #read(roomId: string, from: number, upTo: number | undefined): Promise<{ events: Countable[]; capped: boolean }> {
    const entries = await this.#timeline.entriesBetween(roomId, from, upTo, MAX_SCAN, "b");
    const positions = new Map(entries.map((e) => [e.eventId, e.streamOrdering]));
    const out: Countable[] = [];
    for (const info of await this.#timeline.getEvents(entries.map((e) => e.eventId))) {
      const countable = countableOf(info, positions.get(info.event.eventId) ?? 0);
      if (countable !== undefined) out.push(countable);
    }
    return { events: out.sort((a, b) => a.streamOrdering - b.streamOrdering), capped: entries.length >= MAX_SCAN };
  }
}

class Tally {
  #notifications: number;
  #highlights: number;
  readonly #threads = new Map<string, { notification_count: number; highlight_count: number }>();

  constructor(start: UnreadCounts | undefined) {
    this.#notifications = start?.room.notification_count ?? 0;
    this.#highlights = start?.room.highlight_count ?? 0;
    for (const [root, c] of start?.threads ?? []) this.#threads.set(root, { ...c });
  }

  add(thread: string | undefined, highlight: boolean): void {
    if (thread === undefined) {
      this.#notifications++;
      if (highlight) this.#highlights++;
      return;
    }
    const t = this.#threads.get(thread) ?? { notification_count: 0, highlight_count: 0 };
    t.notification_count++;
    if (highlight) t.highlight_count++;
    this.#threads.set(thread, t);
  }

  result(): UnreadCounts {
    return { room: { notification_count: this.#notifications, highlight_count: this.#highlights }, threads: new Map(this.#threads) };
  }
}

/** The index of the first entry after `position`. */
function firstAfter(entries: readonly Countable[], position: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as Countable).streamOrdering <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts in stream order (a duplicate is dropped); true when it went at the end. */
function insert(entries: Countable[], entry: Countable): boolean {
  let i = entries.length;
  while (i > 0 && (entries[i - 1] as Countable).streamOrdering >= entry.streamOrdering) {
    if ((entries[i - 1] as Countable).streamOrdering === entry.streamOrdering) return true;
    i--;
  }
  entries.splice(i, 0, entry);
  return i === entries.length - 1;
}
