// GET /notifications (notifications.yaml): "the list of events that the user has been, or would
// have been notified about", newest first.
//
// Worked out when asked, not stored as events arrive: storing it would mean applying every member's
// push rules to every event on the send path, for an endpoint few clients call. A page reads, in
// each room the user is joined to, the events since they joined below the `from` position (a
// bounded window per room), applies the user's rules as they are now to them (with the room's
// current member count and power levels), and merges the matches by stream position. The page is
// complete down to the highest position where a room's window stopped; `next_token` is that
// position (or the last match's, when the page is full), so the next page goes on below it. A page
// may so hold fewer matches than `limit`, and still have a next_token. Rooms the user has left are
// not read; `ts` is the event's origin_server_ts, as nothing records when a push went out.
import type { PushOutcome } from "../../core/push/evaluate.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import type { Ruleset } from "../../core/push/ruleset.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import { MAIN_THREAD, threadOf, type ReadUpTo } from "../sync/receipts.ts";
import type { RoomFacts } from "./room-facts.ts";
import { ruleJudge } from "./rule-judge.ts";

/** How many events are read per page at most, shared between the user's rooms. */
const EVENTS_PER_PAGE = 2000;
const MIN_WINDOW = 10;
const MAX_WINDOW = 200;
const ROOMS_AT_ONCE = 8;

export interface NotificationsDeps {
  /** The user's joined rooms, with the position of their join. */
  readonly joinedRooms: (userId: string) => Promise<ReadonlyArray<{ readonly roomId: string; readonly streamOrdering: number }>>;
  /** At most `limit` events of the room in (after, upTo], newest first. */
  readonly eventsBefore: (roomId: string, after: number, upTo: number | undefined, limit: number) => Promise<RoomEventInfo[]>;
  readonly memberCount: (roomId: string) => Promise<number>;
  readonly roomFacts: (roomId: string) => RoomFacts;
  readonly ruleset: (userId: string) => Promise<Ruleset>;
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  readonly readUpTo: (userId: string) => Promise<ReadonlyMap<string, ReadUpTo>>;
  /** The events as clients see them, without room_id (client_event_without_room_id.yaml). */
  readonly serialize: (userId: string, events: readonly RoomEventInfo[]) => Promise<JsonObject[]>;
  /** How many events a page reads at most, over all rooms (default 2000). */
  readonly eventsPerPage?: number;
}

export interface NotificationsQuery {
  /** Only events below this position (a next_token); undefined: from the newest. */
  readonly from: number | undefined;
  readonly limit: number;
  /** `highlight`: only those with the highlight tweak. */
  readonly onlyHighlights: boolean;
}

interface Match {
  readonly info: RoomEventInfo;
  readonly position: number;
  readonly outcome: PushOutcome;
}

export class NotificationsService {
  readonly #deps: NotificationsDeps;

  constructor(deps: NotificationsDeps) {
    this.#deps = deps;
  }

  async list(userId: string, query: NotificationsQuery): Promise<JsonObject> {
    const d = this.#deps;
    const [rooms, ruleset, ignored, readUpTo] = await Promise.all([d.joinedRooms(userId), d.ruleset(userId), d.ignoredUsers(userId), d.readUpTo(userId)]);
    const perPage = d.eventsPerPage ?? EVENTS_PER_PAGE;
    const window = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.floor(perPage / Math.max(1, rooms.length))));
    const upTo = query.from === undefined ? undefined : query.from - 1;
    const matches: Match[] = [];
    // The highest position where a room's window stopped short of its join: below it, events were not all read.
    let floor: number | undefined;
    for (let i = 0; i < rooms.length; i += ROOMS_AT_ONCE) {
      await Promise.all(
        rooms.slice(i, i + ROOMS_AT_ONCE).map(async (room) => {
          const infos = await d.eventsBefore(room.roomId, room.streamOrdering, upTo, window);
          const lowest = infos.at(-1)?.streamOrdering;
          if (infos.length === window && lowest !== undefined) floor = Math.max(floor ?? lowest, lowest);
          matches.push(...(await this.#matches(userId, room.roomId, infos, ruleset, ignored, query.onlyHighlights)));
        }),
      );
    }
    const complete = matches.filter((m) => floor === undefined || m.position >= floor).sort((a, b) => b.position - a.position);
    const page = complete.slice(0, query.limit);
    const nextToken = complete.length > query.limit ? (page.at(-1) as Match).position : floor;
    const events = await d.serialize(userId, page.map((m) => m.info));
    const notifications: JsonValue[] = page.map((m, i) => ({
      actions: [...m.outcome.actions],
      event: events[i] as JsonObject,
      read: isRead(readUpTo.get(m.info.event.roomId), m.info, m.position),
      room_id: m.info.event.roomId,
      ts: m.info.event.originServerTs,
    }));
    return nextToken === undefined ? { notifications } : { notifications, next_token: String(nextToken) };
  }

  async #matches(userId: string, roomId: string, infos: readonly RoomEventInfo[], ruleset: Ruleset, ignored: ReadonlySet<string>, onlyHighlights: boolean): Promise<Match[]> {
    const candidates = infos.filter((info) => info.streamOrdering !== undefined && info.event.sender !== userId && !ignored.has(info.event.sender));
    if (candidates.length === 0) return [];
    const judge = await ruleJudge(userId, ruleset, this.#deps.roomFacts(roomId), await this.#deps.memberCount(roomId));
    const out: Match[] = [];
    for (const info of candidates) {
      const outcome = await judge(info.event);
      // notifications.yaml `only=highlight`: "only events where the notification had the highlight tweak set".
      if (outcome === undefined || !outcome.notify || (onlyHighlights && !outcome.highlight)) continue;
      out.push({ info, position: info.streamOrdering as number, outcome });
    }
    return out;
  }
}

/** notifications.yaml `read`: the user's read receipt (of the event's thread, or unthreaded) is at or after it. */
function isRead(readUpTo: ReadUpTo | undefined, info: RoomEventInfo, position: number): boolean {
  if (readUpTo === undefined) return false;
  const thread = threadOf(info.event.content) ?? MAIN_THREAD;
  return Math.max(readUpTo.unthreaded, readUpTo.threads.get(thread) ?? 0) >= position;
}
