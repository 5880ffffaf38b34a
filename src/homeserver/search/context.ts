// search.yaml "Event Context": the events just before and after a result, as the user sees the
// room's timeline (the search's filter, the visibility rules and ignored users applied, as
// /context does), pagination tokens around them, and with `include_profile` the historic
// profiles of their senders.
import { stateMapKey } from "../../core/events/room-event.ts";
import type { RoomEventFilter } from "../../core/filters/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { EventVisibility } from "../events/access.ts";
import { scanTimeline } from "../events/paginate.ts";
import type { EventSerializer } from "../events/serializer.ts";
import type { StateLookup } from "../events/state-lookup.ts";
import { STREAM_START, type Timeline } from "../events/timeline.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import { encodePaginationToken } from "../sync/token.ts";
import type { EventContextCriteria } from "./criteria.ts";

export interface ResultContextDeps {
  readonly roomserver: Pick<Roomserver, "getEvent">;
  readonly timeline: Timeline;
  readonly visibility: EventVisibility;
  readonly serializer: EventSerializer;
  readonly stateLookup: StateLookup;
}

export interface ContextRequest extends EventContextCriteria {
  readonly filter: RoomEventFilter;
  readonly ignored: ReadonlySet<string>;
  /** The last position of the room the user may read (a former member's leave); undefined: all. */
  readonly upTo: number | undefined;
}

export class ResultContexts {
  readonly #deps: ResultContextDeps;

  constructor(deps: ResultContextDeps) {
    this.#deps = deps;
  }

  async contextOf(requester: Requester, result: RoomEventInfo, request: ContextRequest): Promise<JsonObject> {
    const position = result.streamOrdering;
    if (position === undefined) return { events_before: [], events_after: [] };
    const { timeline, visibility } = this.#deps;
    const common = { userId: requester.userId, roomId: result.event.roomId, filter: request.filter, ignored: request.ignored };
    const [before, after] = await Promise.all([
      scanTimeline(timeline, visibility, { ...common, after: STREAM_START, upTo: position - 1, dir: "b", limit: request.beforeLimit }),
      scanTimeline(timeline, visibility, {
        ...common,
        after: position,
        upTo: request.upTo === undefined ? undefined : Math.max(request.upTo, position),
        dir: "f",
        limit: request.afterLimit,
      }),
    ]);
    const serving = { userId: requester.userId, ...(requester.deviceId === undefined ? {} : { deviceId: requester.deviceId }), bundleAggregations: true, includeMembership: true };
    const [eventsBefore, eventsAfter] = await Promise.all([
      this.#deps.serializer.serialize(before.events, serving),
      this.#deps.serializer.serialize(after.events, serving),
    ]);
    // As GET /context's tokens: before the earliest event given, after the latest.
    const depth = result.event.depth;
    const context: JsonObject = {
      start: encodePaginationToken({
        topological: before.last === undefined ? depth : before.lastDepth,
        stream: (before.last?.streamOrdering ?? position) - 1,
      }),
      end: encodePaginationToken({ topological: after.last === undefined ? depth : after.lastDepth, stream: after.last?.streamOrdering ?? position }),
      events_before: eventsBefore,
      events_after: eventsAfter,
    };
    if (request.includeProfile) {
      const last = after.events[after.events.length - 1] ?? result;
      context["profile_info"] = await this.#profiles([...before.events, result, ...after.events], result, last);
    }
    return context;
  }

  // "The historic profile information of the users that sent the events returned": each sender's
  // m.room.member as of the result, or for one who joined after it, as of the last event given.
  async #profiles(events: readonly RoomEventInfo[], result: RoomEventInfo, last: RoomEventInfo): Promise<JsonObject> {
    const keys = [...new Set(events.map((e) => stateMapKey("m.room.member", e.event.sender)))];
    const wanted = new Map([[result.event.eventId, keys]]);
    if (last !== result) wanted.set(last.event.eventId, keys);
    const found = await this.#deps.stateLookup.at(wanted, "after");
    const atResult = found.get(result.event.eventId);
    const atLast = found.get(last.event.eventId);
    const senders = [...new Set(events.map((e) => e.event.sender))];
    const members = await Promise.all(
      senders.map((sender) => {
        const key = stateMapKey("m.room.member", sender);
        const memberId = atResult?.get(key) ?? atLast?.get(key);
        return memberId === undefined ? undefined : this.#deps.roomserver.getEvent(memberId);
      }),
    );
    const profiles: JsonObject = {};
    for (const [i, member] of members.entries()) {
      if (member === undefined) continue;
      const { displayname, avatar_url: avatarUrl } = member.event.content;
      profiles[senders[i] as string] = {
        ...(typeof displayname === "string" ? { displayname } : {}),
        ...(typeof avatarUrl === "string" ? { avatar_url: avatarUrl } : {}),
      };
    }
    return profiles;
  }
}
