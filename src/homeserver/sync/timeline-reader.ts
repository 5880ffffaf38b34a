// A room's timeline for /sync (timeline_batch.yaml): the newest `limit` events of a stream range
// that the user may see (history visibility), that pass the timeline filter, and that are not
// message events of ignored users (modules/ignore_users.md: "with the exception of state events");
// `limited` when the range holds more than that.
import { matchesEventFilter, type RoomEventFilter } from "../../core/filters/index.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import type { SyncTimeline, SyncVisibility, TimelineEntry } from "./sources.ts";

/** How many entries a timeline read looks at before it calls the rest a gap. */
const MAX_SCAN = 500;

export interface TimelineRead {
  /** Oldest first. */
  readonly events: RoomEventInfo[];
  /** Their stream positions, by event ID. */
  readonly positions: ReadonlyMap<string, number>;
  readonly limited: boolean;
  /** The newest entry of the range, whatever the filters said (its state is the range's end). */
  readonly newest: TimelineEntry | undefined;
  /** Whether an event of the range read is a state event, whatever the filters and visibility said. */
  readonly stateInRange: boolean;
}

export interface TimelineQuery {
  readonly roomId: string;
  readonly userId: string;
  /** The range (after, upTo] of the room stream. */
  readonly after: number;
  readonly upTo: number;
  readonly limit: number;
  readonly filter: RoomEventFilter;
  readonly ignored: ReadonlySet<string>;
  /**
   * Where the user's current join took effect, when they are joined, and this server's name: an
   * event of this server after it was built on a state that holds the join, so the user may see it
   * (client-server-api#history-visibility: "joined" at the event) without asking.
   */
  readonly joinedSince?: { readonly position: number; readonly serverName: string };
}

export async function readTimeline(timeline: SyncTimeline, visibility: SyncVisibility, q: TimelineQuery): Promise<TimelineRead> {
  const kept: RoomEventInfo[] = []; // newest first
  const positions = new Map<string, number>();
  let newest: TimelineEntry | undefined;
  let upTo = q.upTo;
  let scanned = 0;
  let exhausted = false;
  let stateInRange = false;
  // One more than the limit tells whether the range holds more.
  while (kept.length <= q.limit) {
    if (scanned >= MAX_SCAN) break;
    const page = Math.min(MAX_SCAN - scanned, Math.max(q.limit + 1 - kept.length, 1) * (scanned === 0 ? 1 : 4));
    const entries = await timeline.entriesBetween(q.roomId, q.after, upTo, page, "b");
    newest ??= entries[0];
    scanned += entries.length;
    for (const e of entries) positions.set(e.eventId, e.streamOrdering);
    const loaded = await timeline.getEvents(entries.map((e) => e.eventId));
    for (const info of loaded) if (info.event.stateKey !== undefined) stateInRange = true;
    const visible = await visibleOf(visibility, q, loaded, positions);
    for (const info of visible) {
      const { event } = info;
      if (event.stateKey === undefined && q.ignored.has(event.sender)) continue;
      if (!matchesEventFilter(q.filter, { type: event.type, sender: event.sender, roomId: event.roomId, content: event.content })) continue;
      kept.push(info);
    }
    if (entries.length < page) {
      exhausted = true;
      break;
    }
    upTo = (entries.at(-1) as TimelineEntry).streamOrdering - 1;
  }
  const limited = kept.length > q.limit || !exhausted;
  const events = kept.slice(0, q.limit).reverse();
  return { events, positions, limited, newest, stateInRange };
}

// The events the user may see, asking the visibility rules only about those that need it.
async function visibleOf(visibility: SyncVisibility, q: TimelineQuery, events: RoomEventInfo[], positions: ReadonlyMap<string, number>): Promise<RoomEventInfo[]> {
  const joined = q.joinedSince;
  // The user's own out-of-band memberships of a room they are not in (an invite received, its
  // rejection: outliers placed in the stream) are theirs to see; no state here says otherwise.
  const ownOutOfBand = (e: RoomEventInfo): boolean => joined === undefined && e.outlier && e.event.type === "m.room.member" && e.event.stateKey === q.userId;
  const surelyVisible = (e: RoomEventInfo): boolean =>
    ownOutOfBand(e) ||
    (joined !== undefined && (positions.get(e.event.eventId) ?? 0) > joined.position && serverNameOf(e.event.sender) === joined.serverName);
  const ask = events.filter((e) => !surelyVisible(e));
  if (ask.length === 0) return events;
  const allowed = new Set((await visibility.filterEventsForUser(q.userId, ask)).map((e) => e.event.eventId));
  return events.filter((e) => surelyVisible(e) || allowed.has(e.event.eventId));
}
