// Paging through a room's timeline as a user sees it: a range of the room stream is read in pages,
// the filter and the visibility rules applied, until enough events are found, the range is
// exhausted, or a scan budget runs out. The position of the last entry *read* (not the last one
// kept) is where the next page starts, so consecutive pages cover the range exactly once, and
// hidden events are stepped over, never served.
import { matchesEventFilter, type RoomEventFilter } from "../../core/filters/index.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import type { TimelineEntry } from "../../storage/stores/room-timeline.ts";
import type { EventVisibility } from "./access.ts";
import type { Direction, Timeline } from "./timeline.ts";

export interface ScanRequest {
  readonly userId: string;
  readonly roomId: string;
  /** Positions in (after, upTo]; upTo undefined is the newest. */
  readonly after: number;
  readonly upTo: number | undefined;
  readonly dir: Direction;
  readonly limit: number;
  readonly filter: RoomEventFilter | undefined;
  /**
   * Senders the user ignores: their events are not served, state events excepted
   * (modules/ignore_users.md "the client will no longer receive events sent by that user, with the
   * exception of state events").
   */
  readonly ignored?: ReadonlySet<string>;
}

export interface ScanResult {
  readonly events: RoomEventInfo[];
  /** The last entry read, kept or not; undefined when nothing was read. */
  readonly last: TimelineEntry | undefined;
  /** The depth of that entry's event (the topological part of a pagination token). */
  readonly lastDepth: number;
  /** Nothing is left in the range past `last`. */
  readonly exhausted: boolean;
}

/** At most this many entries are read for one page besides the events served. */
const SCAN_BUDGET = 1000;
const MAX_PAGE = 200;

export async function scanTimeline(timeline: Timeline, visibility: EventVisibility, request: ScanRequest): Promise<ScanResult> {
  const events: RoomEventInfo[] = [];
  let { after, upTo } = request;
  let last: TimelineEntry | undefined;
  let lastDepth = 0;
  let read = 0;
  if (request.limit <= 0) return { events, last, lastDepth, exhausted: false };
  for (;;) {
    const pageSize = Math.min(MAX_PAGE, Math.max(10, (request.limit - events.length) * 2));
    const entries = await timeline.entriesBetween(request.roomId, after, upTo, pageSize, request.dir);
    if (entries.length === 0) return { events, last, lastDepth, exhausted: true };
    const infos = await timeline.events(entries);
    const depths = new Map(infos.map((i) => [i.event.eventId, i.event.depth]));
    const filter = request.filter;
    const ignored = request.ignored ?? new Set<string>();
    const matching = infos.filter(
      (i) => (i.event.stateKey !== undefined || !ignored.has(i.event.sender)) && (filter === undefined || matchesEventFilter(filter, filterable(i))),
    );
    const visible = new Map((await visibility.filterEventsForUser(request.userId, matching)).map((i) => [i.event.eventId, i]));
    for (const [index, entry] of entries.entries()) {
      last = entry;
      lastDepth = depths.get(entry.eventId) ?? 0;
      read++;
      const kept = visible.get(entry.eventId);
      if (kept !== undefined) events.push(kept);
      if (events.length >= request.limit) {
        return { events, last, lastDepth, exhausted: index === entries.length - 1 && entries.length < pageSize };
      }
    }
    if (entries.length < pageSize) return { events, last, lastDepth, exhausted: true };
    if (read >= SCAN_BUDGET + request.limit) return { events, last, lastDepth, exhausted: false };
    if (request.dir === "f") after = entry(last).streamOrdering;
    else upTo = entry(last).streamOrdering - 1;
  }
}

/** What a RoomEventFilter looks at in an event. */
export function filterable(info: RoomEventInfo) {
  return { type: info.event.type, sender: info.event.sender, roomId: info.event.roomId, content: info.event.content };
}

function entry(value: TimelineEntry | undefined): TimelineEntry {
  if (value === undefined) throw new Error("a scanned page had no entries");
  return value;
}
