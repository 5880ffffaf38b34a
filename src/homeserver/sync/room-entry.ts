// One room's entry in /sync (sync.yaml Joined Room / Left Room): its timeline, the state beside it,
// and for joined rooms the summary, ephemeral events, account data and unread counts.
//
// The state/timeline split (client-server-api#syncing): for an initial sync (and a room newly
// joined, or `full_state`), "the complete state of the room at the start of the returned timeline";
// for an incremental one, the changes "between the state of the room at the since parameter and that
// at the start of the returned timeline", so empty unless the timeline is limited. Events in the
// timeline are never repeated in the state.
//
// With `use_state_after` (sync.yaml, v1.16) the state goes in `state_after` instead: the state at
// the END of the timeline (whole, or its changes since the token), from which alone the client
// updates its state; the timeline's state events count only through it, so it repeats them.
//
// Lazy-loading members (client-server-api#lazy-loading-room-members, sync.yaml): only the member
// events of the timeline's senders and of the heroes, the user's own when the whole state is sent,
// and always those of the gap of a limited sync; members the device was sent already are left out
// unless `include_redundant_members`.
import { applyEventFields, matchesEventFilter } from "../../core/filters/index.ts";
import { stateMapKey, type StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { packedFilter, packedFlatMap, packedMap } from "../../core/packed-map.ts";
import { toClientEvent } from "../events/client-event.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import type { SyncBuilderDeps, SyncContext } from "./response.ts";
import type { ReadUpTo } from "./receipts.ts";
import type { RoomSummary } from "./room-summary.ts";
import type { MembershipAt } from "./sources.ts";
import { mapLimit } from "./batching.ts";
import { readTimeline, type TimelineRead } from "./timeline-reader.ts";
import { encodeSyncToken } from "./token.ts";

const MEMBER_PREFIX = "m.room.member\u0000";
/** Rooms built at the same time: enough for the batched reads to gather many, few enough to queue little. */
const ROOMS_AT_ONCE = 32;

/** What to build for one room. */
export interface RoomPlan {
  readonly roomId: string;
  readonly section: "join" | "leave";
  readonly membership: MembershipAt;
  /** The timeline starts after this room stream position; undefined: from the room's start. */
  readonly since: number | undefined;
  /** The timeline ends here (the span's end, or where the user left). */
  readonly upTo: number;
  /** The whole state rather than its changes. */
  readonly fullState: boolean;
  readonly newlyJoined: boolean;
}

export interface RoomEntry {
  readonly roomId: string;
  readonly section: "join" | "leave";
  readonly json: JsonObject;
  /** The members whose join the entry's timeline or state carries (joined rooms only). */
  readonly joinedMembers?: readonly string[];
}

export interface RoomExtras {
  readonly ignored: ReadonlySet<string>;
  /** The m.receipt event of each room with receipts in the span. */
  readonly receiptEvents: ReadonlyMap<string, JsonObject>;
  readonly roomAccountData: ReadonlyMap<string, ReadonlyArray<{ readonly type: string; readonly content: JsonObject }>>;
}

// A room's entry before its events are loaded and served: built for every room, then served in batches.
interface Draft {
  readonly plan: RoomPlan;
  readonly timeline: TimelineRead;
  readonly stateIds: readonly string[];
  readonly summary: RoomSummary | undefined;
  readonly prevBatch: string;
}

function memberOf(key: string): string | undefined {
  return key.startsWith(MEMBER_PREFIX) ? key.slice(MEMBER_PREFIX.length) : undefined;
}

export class RoomEntryBuilder {
  readonly #deps: SyncBuilderDeps;

  constructor(deps: SyncBuilderDeps) {
    this.#deps = deps;
  }

  async build(ctx: SyncContext, plans: readonly RoomPlan[], extras: RoomExtras): Promise<RoomEntry[]> {
    if (plans.length === 0) return [];
    const d = this.#deps;
    if (ctx.since === undefined && ctx.filter.room.state.lazyLoadMembers) d.lazyMembers.reset(ctx.userId, ctx.deviceId ?? "");
    const drafts = await mapLimit(plans, ROOMS_AT_ONCE, (plan) => this.#draft(ctx, plan, extras));

    // Every room's events served in batches: the timelines, then the state. Bundled aggregations
    // (client-server-api#aggregations-of-child-events) go with timelines that start a room or skip
    // a gap; a complete incremental timeline holds every child its events have (children come after
    // their parents), which the client sees there.
    const format = ctx.filter.eventFormat;
    const bundled = (draft: Draft): boolean => draft.plan.since === undefined || draft.timeline.limited;
    const stateInfos = await d.timeline.getEvents([...new Set(drafts.flatMap((draft) => draft.stateIds))]);
    const stateById = new Map(stateInfos.map((info) => [info.event.eventId, info]));
    const stateFilter = ctx.filter.room.state;
    const stateOf = (draft: Draft): RoomEventInfo[] =>
      draft.stateIds.flatMap((id) => {
        const info = stateById.get(id);
        if (info === undefined) return [];
        const { event } = info;
        return matchesEventFilter(stateFilter, { type: event.type, sender: event.sender, roomId: event.roomId, content: event.content }) ? [info] : [];
      });
    const stateLists = drafts.map(stateOf);
    // sync_filter.yaml `event_format`: `federation` is "the raw event as received over federation",
    // room_id and all; only the client format leaves it out (ClientEventWithoutRoomID).
    const withoutRoomId = format === "client";
    const timelineOptions = { userId: ctx.userId, deviceId: ctx.deviceId, format, withoutRoomId };
    const [withBundles, withoutBundles, stateJson] = await Promise.all([
      d.serializer.serialize(packedFlatMap(packedFilter(drafts, bundled), (draft) => draft.timeline.events), { ...timelineOptions, bundleAggregations: true }),
      d.serializer.serialize(packedFlatMap(packedFilter(drafts, (draft) => !bundled(draft)), (draft) => draft.timeline.events), timelineOptions),
      this.#serializeState(ctx, packedFlatMap(stateLists, (list) => list)),
    ]);
    const project = (event: JsonObject): JsonObject => (ctx.filter.eventFields === undefined ? event : applyEventFields(event, ctx.filter.eventFields));

    // Unread counts for the joined rooms, from the user's receipts.
    const joinedIds = packedMap(packedFilter(drafts, (draft) => draft.plan.section === "join"), (draft) => draft.plan.roomId);
    const readUpTo = joinedIds.length === 0 ? new Map<string, ReadUpTo>() : await d.receipts.readUpTo(ctx.userId);
    const threaded = ctx.filter.room.timeline.unreadThreadNotifications;
    const counts = await mapLimit(drafts, ROOMS_AT_ONCE, async (draft) =>
      draft.plan.section === "join"
        ? await d.unread.counts(draft.plan.roomId, ctx.userId, draft.plan.membership.streamOrdering, draft.plan.upTo, readUpTo.get(draft.plan.roomId), extras.ignored, threaded)
        : undefined,
    );

    const entries: RoomEntry[] = [];
    let b = 0;
    let u = 0;
    let s = 0;
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i] as Draft;
      const { plan } = draft;
      const count = draft.timeline.events.length;
      const timeline = (bundled(draft) ? withBundles.slice(b, (b += count)) : withoutBundles.slice(u, (u += count))).map(project);
      const stateCount = (stateLists[i] as RoomEventInfo[]).length;
      const state = stateJson.slice(s, s + stateCount).map(project);
      s += stateCount;
      const accountData = (extras.roomAccountData.get(plan.roomId) ?? []).map((item) => ({ type: item.type, content: item.content }));
      const json: JsonObject = {
        timeline: { events: timeline, limited: draft.timeline.limited, prev_batch: draft.prevBatch },
        // sync.yaml: `state` MUST be omitted when `use_state_after` asked for `state_after`, which is then required.
        [ctx.stateAfter ?? "state"]: { events: state },
        account_data: { events: accountData },
      };
      if (plan.section === "leave") {
        // sync.yaml `rooms.leave`: "The rooms that the user has left or been banned from". A room is
        // planned here only when the user left it in the span (or include_leave asked), so it goes
        // even when history visibility hides every event (a rejected invite to a `joined` room):
        // without it the client would keep the room as invited or joined.
        entries.push({ roomId: plan.roomId, section: "leave", json });
        continue;
      }
      const ephemeral = this.#ephemeral(ctx, plan, extras);
      json["ephemeral"] = { events: ephemeral };
      if (draft.summary !== undefined) json["summary"] = { ...draft.summary };
      const unread = counts[i];
      if (unread !== undefined) {
        json["unread_notifications"] = { ...unread.room };
        if (threaded && unread.threads.size > 0) {
          json["unread_thread_notifications"] = Object.fromEntries([...unread.threads].map(([root, c]) => [root, { ...c }]));
        }
      }
      const somethingNew = timeline.length > 0 || state.length > 0 || ephemeral.length > 0 || accountData.length > 0;
      if (!(somethingNew || plan.since === undefined || ctx.fullState)) continue;
      // Read only by an incremental sync (the presence of users newly sharing a room): not worked out for an initial one.
      const joinedMembers =
        ctx.since === undefined
          ? undefined
          : [...draft.timeline.events, ...(stateLists[i] as RoomEventInfo[])].flatMap(({ event }) =>
              event.type === "m.room.member" && event.stateKey !== undefined && event.content["membership"] === "join" ? [event.stateKey] : [],
            );
      entries.push({ roomId: plan.roomId, section: "join", json, joinedMembers });
    }
    return entries;
  }

  async #draft(ctx: SyncContext, plan: RoomPlan, extras: RoomExtras): Promise<Draft> {
    const d = this.#deps;
    const { filter } = ctx;
    const timeline = await readTimeline(d.timeline, d.visibility, {
      roomId: plan.roomId,
      userId: ctx.userId,
      after: plan.since ?? 0,
      upTo: plan.upTo,
      limit: filter.room.timeline.limit,
      filter: filter.room.timeline,
      ignored: extras.ignored,
      ...(plan.section === "join" ? { joinedSince: { position: plan.membership.streamOrdering, serverName: d.serverName } } : {}),
    });
    const first = timeline.events[0];
    const firstPosition = first === undefined ? undefined : timeline.positions.get(first.event.eventId);
    // A position just before the first event: /messages from it (backwards) continues the timeline,
    // and from it to the `since` token exactly fills a gap.
    const prevBatch = encodeSyncToken({ ...ctx.to, roomEvents: firstPosition === undefined ? plan.upTo : firstPosition - 1 });

    // The state at the start of the timeline (at the range's end when nothing in it is shown). An
    // out-of-band membership shown there (an invite received before the room was here) has no
    // state: the first event placed in the room tells it.
    const placed = timeline.events.find((e) => !e.outlier);
    // The state after the last event at or before a position of the room stream.
    const stateAtPosition = async (position: number | undefined): Promise<StateMap> => {
      const [last] = await d.timeline.entriesBetween(plan.roomId, 0, position, 1, "b");
      return last === undefined ? new Map() : ((await d.roomState.stateAt(last.eventId, "after")) ?? new Map());
    };
    const endState = async (): Promise<StateMap> =>
      timeline.newest !== undefined ? ((await d.roomState.stateAt(timeline.newest.eventId, "after")) ?? new Map()) : await stateAtPosition(plan.upTo);
    const startState = async (): Promise<StateMap> =>
      placed !== undefined ? ((await d.roomState.stateAt(placed.event.eventId, "before")) ?? new Map()) : await endState();
    const changedSince = (now: StateMap, before: StateMap): Map<string, string> => new Map([...now].filter(([key, id]) => before.get(key) !== id));

    // `start` is where the state goes up to: the timeline's start, or its end for `state_after`.
    const stateAfter = ctx.stateAfter !== undefined;
    let mode: "full" | "delta" | "none";
    let start: StateMap | undefined;
    let state: Map<string, string>;
    if (plan.fullState) {
      mode = "full";
      start = stateAfter ? await endState() : await startState();
      state = new Map(start);
    } else if (timeline.limited || (stateAfter && timeline.stateInRange)) {
      // Without `state_after`, a complete timeline carries its state changes itself.
      mode = "delta";
      start = stateAfter ? await endState() : await startState();
      state = changedSince(start, await stateAtPosition(plan.since));
    } else {
      mode = "none";
      state = new Map();
    }

    // The summary when the whole state goes, or when members changed in what is sent.
    const membersChanged =
      timeline.events.some((e) => e.event.type === "m.room.member") || [...state.keys()].some((key) => key.startsWith(MEMBER_PREFIX));
    const summary =
      plan.section === "join" && (mode === "full" || membersChanged) ? await d.summaries.summary(plan.roomId, ctx.userId, ctx.to.roomEvents) : undefined;

    if (filter.room.state.lazyLoadMembers) {
      // The senders' member events come from the state the section goes up to.
      const first = timeline.events[0];
      const membersAt = async (): Promise<StateMap | undefined> =>
        start ?? (stateAfter ? await endState() : first === undefined ? undefined : await d.roomState.stateAt(first.event.eventId, "before"));
      state = await this.#lazyLoad(ctx, plan, timeline, mode, state, membersAt, summary);
    }

    const inTimeline = new Set(timeline.events.map((e) => e.event.eventId));
    const stateIds = stateAfter ? [...state.values()] : [...state.values()].filter((id) => !inTimeline.has(id));
    return { plan, timeline, stateIds, summary, prevBatch };
  }

  // The `state` events, formatted as they are: unlike the timeline's, they do not carry the state
  // they replaced (it would cost a state read per event, thousands in an initial sync). Redacted
  // ones go through the serializer for their redacted_because.
  async #serializeState(ctx: SyncContext, events: readonly RoomEventInfo[]): Promise<JsonObject[]> {
    const now = this.#deps.now();
    const redacted = packedFilter(events, (e) => e.redactedBy !== undefined);
    const format = ctx.filter.eventFormat;
    const withoutRoomId = format === "client";
    const served = await this.#deps.serializer.serialize(redacted, { userId: ctx.userId, format, withoutRoomId });
    const byId = new Map(packedMap(redacted, (e, i) => [e.event.eventId, served[i] as JsonObject]));
    return events.map((e) => byId.get(e.event.eventId) ?? toClientEvent(e, { now, format, withoutRoomId }));
  }

  // Keeps only the member events lazy-loading asks for, and remembers what the device was sent.
  async #lazyLoad(
    ctx: SyncContext,
    plan: RoomPlan,
    timeline: TimelineRead,
    mode: "full" | "delta" | "none",
    state: Map<string, string>,
    membersAt: () => Promise<StateMap | undefined>,
    summary: RoomSummary | undefined,
  ): Promise<Map<string, string>> {
    const d = this.#deps;
    const deviceId = ctx.deviceId ?? "";
    const redundant = ctx.filter.room.state.includeRedundantMembers;
    // The timeline's member events tell the client about those members, unless `state_after` alone does.
    const timelineMembers =
      ctx.stateAfter !== undefined ? [] : timeline.events.flatMap((e) => (e.event.type === "m.room.member" && e.event.stateKey !== undefined ? [[e.event.stateKey, e.event.eventId] as const] : []));
    const inTimeline = new Set(timelineMembers.map(([member]) => member));
    const needed = new Set(timeline.events.map((e) => e.event.sender));
    for (const hero of summary?.["m.heroes"] ?? []) needed.add(hero);
    // With `state_after`, the members the timeline's member events are about (an invitee, someone
    // kicked) are known to the client only through it.
    if (ctx.stateAfter !== undefined) {
      for (const e of timeline.events) if (e.event.type === "m.room.member" && e.event.stateKey !== undefined) needed.add(e.event.stateKey);
    }
    // sync.yaml: the user's own member event "when they join a room, or when the full state of rooms is requested".
    const own = mode === "full" && (ctx.since === undefined || plan.newlyJoined || ctx.fullState);
    if (own) needed.add(ctx.userId);
    const fresh = (member: string, id: string): boolean =>
      redundant || (own && member === ctx.userId) || d.lazyMembers.sent(ctx.userId, deviceId, plan.roomId, member) !== id;

    const out = new Map<string, string>();
    for (const [key, id] of state) {
      const member = memberOf(key);
      if (member === undefined) out.set(key, id);
      // sync.yaml: a limited sync MUST return the members of the gap, redundant or not.
      else if (mode === "delta" || (needed.has(member) && fresh(member, id))) out.set(key, id);
    }
    // The senders' member events from the state the section goes up to.
    const missing = [...needed].filter((member) => !out.has(stateMapKey("m.room.member", member)) && !inTimeline.has(member));
    const unknown = mode === "none" ? missing.filter((member) => redundant || d.lazyMembers.sent(ctx.userId, deviceId, plan.roomId, member) === undefined) : missing;
    if (unknown.length > 0 && mode !== "full") {
      const at = await membersAt();
      for (const member of unknown) {
        const key = stateMapKey("m.room.member", member);
        const id = at?.get(key);
        if (id !== undefined && fresh(member, id)) out.set(key, id);
      }
    }

    const sent: [string, string][] = [];
    for (const [key, id] of out) {
      const member = memberOf(key);
      if (member !== undefined) sent.push([member, id]);
    }
    for (const [member, id] of timelineMembers) sent.push([member, id]);
    d.lazyMembers.record(ctx.userId, deviceId, plan.roomId, sent);
    return out;
  }

  // m.typing and m.receipt (sync.yaml `ephemeral`), through the ephemeral filter.
  #ephemeral(ctx: SyncContext, plan: RoomPlan, extras: RoomExtras): JsonObject[] {
    const d = this.#deps;
    const out: JsonObject[] = [];
    const filter = ctx.filter.room.ephemeral;
    const sinceTyping = plan.since === undefined ? undefined : (ctx.since?.typing ?? 0);
    const typing = d.typing.typingUsers(plan.roomId).filter((u) => !extras.ignored.has(u));
    const typingChanged = sinceTyping === undefined ? typing.length > 0 : d.typing.roomSerial(plan.roomId) > sinceTyping;
    if (typingChanged && matchesEventFilter(filter, { type: "m.typing", roomId: plan.roomId })) {
      out.push({ type: "m.typing", content: { user_ids: typing } });
    }
    const receipts = extras.receiptEvents.get(plan.roomId);
    if (receipts !== undefined && matchesEventFilter(filter, { type: "m.receipt", roomId: plan.roomId })) {
      const content = withoutIgnored(receipts["content"] as JsonObject, extras.ignored);
      if (Object.keys(content).length > 0) out.push({ type: "m.receipt", content });
    }
    return ctx.filter.eventFields === undefined ? out : out.map((e) => applyEventFields(e, ctx.filter.eventFields as readonly string[]));
  }
}

// Receipts of ignored users are not shown (Synapse filters them too).
function withoutIgnored(content: JsonObject, ignored: ReadonlySet<string>): JsonObject {
  if (ignored.size === 0) return content;
  const out: JsonObject = {};
  for (const [eventId, byType] of Object.entries(content)) {
    const types: JsonObject = {};
    for (const [type, byUser] of Object.entries(byType as JsonObject)) {
      const users = Object.fromEntries(Object.entries(byUser as JsonObject).filter(([u]) => !ignored.has(u)));
      if (Object.keys(users).length > 0) types[type] = users;
    }
    if (Object.keys(types).length > 0) out[eventId] = types;
  }
  return out;
}
