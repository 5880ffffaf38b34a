// Building one /sync response (client-server-api#syncing, sync.yaml) for the span between two
// tokens (`since` absent: an initial sync). Which rooms go in which section is decided here from the
// user's memberships and their changes in the span; each room's entry is built by room-entry.ts;
// the other sections (presence, account data, to-device, device lists, key counts) are read here.
import { matchesEventFilter, matchesRoomFilter, excludesEverything, applyEventFields } from "../../core/filters/index.ts";
import type { Filter } from "../../core/filters/index.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import { packedMap } from "../../core/packed-map.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";
import type { IgnoredUsers, UserRooms } from "./user-cache.ts";
import type { KeyCountCache, KeyCounts } from "./key-counts.ts";
import type { LazyMemberCache } from "./lazy-members.ts";
import type { PresenceService } from "./presence.ts";
import type { ReceiptService } from "./receipts.ts";
import type { RoomHeads } from "./room-heads.ts";
import { RoomEntryBuilder, type RoomEntry, type RoomPlan } from "./room-entry.ts";
import type { RoomSummaries } from "./room-summary.ts";
import type {
  MembershipAt,
  SyncAccountData,
  SyncDeviceLists,
  SyncMemberships,
  SyncReceivedInvites,
  SyncRoomState,
  SyncSerializer,
  SyncTimeline,
  SyncToDevice,
  SyncVisibility,
} from "./sources.ts";
import { carriedStrippedState, strippedEvent, strippedOf, strippedStateIds } from "./stripped-state.ts";
import { encodeSyncToken, type StreamPositions } from "./token.ts";
import type { TypingService } from "./typing.ts";
import type { UnreadCounter } from "./unread-counts.ts";

/** modules/send_to_device.md leaves the batch size to the server (Synapse sends 100). */
export const TO_DEVICE_LIMIT = 100;

export interface SyncBuilderDeps {
  /** This server's name (its own events need no visibility check once the user is joined). */
  readonly serverName: string;
  /** The clock, for the age of the events served. */
  readonly now: () => number;
  readonly heads: RoomHeads;
  readonly memberships: SyncMemberships;
  readonly userRooms: UserRooms;
  readonly ignoredUsers: IgnoredUsers;
  readonly timeline: SyncTimeline;
  readonly roomState: SyncRoomState;
  readonly visibility: SyncVisibility;
  readonly serializer: SyncSerializer;
  readonly accountData: SyncAccountData;
  readonly typing: TypingService;
  readonly receipts: ReceiptService;
  readonly presence: PresenceService;
  readonly toDevice: SyncToDevice | undefined;
  readonly deviceLists: SyncDeviceLists | undefined;
  readonly keyCounts: KeyCountCache | undefined;
  readonly summaries: RoomSummaries;
  readonly lazyMembers: LazyMemberCache;
  readonly unread: UnreadCounter;
  /** The room state that came with invites over federation (absent: no federation). */
  readonly receivedInvites?: SyncReceivedInvites;
  /** Whether the user blocks invites (modules/invite_permission.md): their invites are then not served. */
  readonly invitesBlocked?: (userId: string) => Promise<boolean>;
}

export interface SyncContext {
  readonly userId: string;
  readonly deviceId: string | undefined;
  readonly filter: Filter;
  /** The client's token; undefined for an initial sync. */
  readonly since: StreamPositions | undefined;
  /** Where this response reads up to. */
  readonly to: StreamPositions;
  /** The `full_state` parameter. */
  readonly fullState: boolean;
  /** `use_state_after`: rooms carry `state_after` (under this name) rather than `state`. */
  readonly stateAfter?: StateAfterKey | undefined;
}

/**
 * The name of `state_after` in a response: the spec's (v1.16), or MSC4222's unstable one, which
 * matrix-js-sdk asks for with `org.matrix.msc4222.use_state_after`.
 */
export type StateAfterKey = "state_after" | "org.matrix.msc4222.state_after";

export interface BuiltSync {
  readonly response: JsonObject;
  /** Nothing for the client but the token (and key counts): a long-poll keeps waiting. */
  readonly empty: boolean;
}

type AccountDataItem = { readonly roomId: string | undefined; readonly type: string; readonly content: JsonObject };

export class SyncResponseBuilder {
  readonly #deps: SyncBuilderDeps;
  readonly #rooms: RoomEntryBuilder;

  constructor(deps: SyncBuilderDeps) {
    this.#deps = deps;
    this.#rooms = new RoomEntryBuilder(deps);
  }

  async build(ctx: SyncContext): Promise<BuiltSync> {
    const d = this.#deps;
    const { userId, since, to, filter } = ctx;
    await d.memberships.waitUntil(to.roomEvents);
    const [rooms, ignored] = await Promise.all([d.userRooms.roomsAt(userId, to.roomEvents), d.ignoredUsers.of(userId)]);
    const roomAllowed = (roomId: string): boolean => matchesRoomFilter(filter.room, roomId);

    // Membership changes in the span, per room (none to read when the user's last change is older).
    // The heads know the changes since start only: a token from before it reads them all (sync.yaml
    // `since`: the response continues from the token, across a restart too).
    const changes = new Map<string, MembershipAt[]>();
    const changedInSpan = (since: StreamPositions): boolean => since.roomEvents < d.heads.start || d.heads.userChangeOf(userId) > since.roomEvents;
    if (since !== undefined && since.roomEvents < to.roomEvents && changedInSpan(since)) {
      for (const change of await d.memberships.membershipChangesSince(userId, since.roomEvents, to.roomEvents)) {
        changes.set(change.roomId, [...(changes.get(change.roomId) ?? []), change]);
      }
    }

    const joined = rooms.filter((r) => r.membership === "join");
    const joinedIds = packedMap(joined, (r) => r.roomId);
    const accountDataP = this.#accountData(ctx);
    const receiptsP =
      since === undefined || to.receipts > since.receipts
        ? d.receipts.receiptEvents(userId, joinedIds.filter(roomAllowed), since?.receipts ?? 0, to.receipts)
        : Promise.resolve(new Map<string, JsonObject>());

    const plans: RoomPlan[] = [];
    const invites: MembershipAt[] = [];
    const knocks: MembershipAt[] = [];
    for (const r of rooms) {
      if (!roomAllowed(r.roomId)) continue;
      const roomChanges = changes.get(r.roomId);
      if (r.membership === "join") {
        const newlyJoined = since !== undefined && roomChanges !== undefined && (await this.#newlyJoined(userId, roomChanges));
        const fresh = since === undefined || newlyJoined;
        plans.push({
          roomId: r.roomId,
          section: "join",
          membership: r,
          since: fresh ? undefined : since.roomEvents,
          upTo: to.roomEvents,
          fullState: fresh || ctx.fullState,
          newlyJoined,
        });
      } else if (r.membership === "invite" || r.membership === "knock") {
        if (since === undefined || roomChanges !== undefined) (r.membership === "invite" ? invites : knocks).push(r);
      } else if (since === undefined ? filter.room.includeLeave : roomChanges !== undefined) {
        // Newly left rooms always show; older ones on an initial sync only with include_leave.
        const upTo = Math.min(r.streamOrdering, to.roomEvents);
        // sync.yaml Left Room `state`, "The state updates for the room up to the start of the
        // timeline": a room joined and left within the span has no state at `since` the client
        // knows, so it gets the whole state, as a newly joined room does.
        const firstJoin = roomChanges?.find((c) => c.membership === "join");
        const joinedInSpan = since !== undefined && firstJoin !== undefined && (await this.#newlyJoined(userId, [firstJoin]));
        const fresh = since === undefined || joinedInSpan;
        plans.push({
          roomId: r.roomId,
          section: "leave",
          membership: r,
          // sync.yaml `full_state`: "The timeline will still be limited by the since parameter."
          since: fresh ? undefined : Math.min(since.roomEvents, upTo),
          upTo,
          fullState: fresh || ctx.fullState,
          newlyJoined: joinedInSpan,
        });
      }
    }

    // A filter's `limit` bounds timelines only: account data, presence and ephemeral events left
    // out of a response would be lost, since the token moves past them.
    const [accountData, receiptEvents] = await Promise.all([accountDataP, receiptsP]);
    const roomAccountData = new Map<string, AccountDataItem[]>();
    for (const item of accountData) {
      if (item.roomId === undefined || !matchesEventFilter(filter.room.accountData, { type: item.type, roomId: item.roomId })) continue;
      roomAccountData.set(item.roomId, [...(roomAccountData.get(item.roomId) ?? []), item]);
    }

    // An incremental sync reads only the joined rooms where something happened.
    const wanted: RoomPlan[] = [];
    for (const plan of plans) {
      if (plan.section === "join" && plan.since !== undefined && !ctx.fullState) {
        const busy =
          (await d.heads.roomPosition(plan.roomId)) > plan.since ||
          d.typing.roomSerial(plan.roomId) > (since?.typing ?? 0) ||
          receiptEvents.has(plan.roomId) ||
          roomAccountData.has(plan.roomId);
        if (!busy) continue;
      }
      wanted.push(plan);
    }

    const entries = await this.#rooms.build(ctx, wanted, { ignored, receiptEvents, roomAccountData });
    const join: JsonObject = {};
    const leave: JsonObject = {};
    for (const entry of entries) {
      if (entry.section === "join") join[entry.roomId] = entry.json;
      else leave[entry.roomId] = entry.json;
    }
    // modules/invite_permission.md: invites to a user who blocks them "MUST NOT be served" over /sync
    // (while the block holds: lifting it serves them again).
    const blocked = invites.length > 0 && (await d.invitesBlocked?.(userId)) === true;
    const [invite, knock] = await Promise.all([this.#stripped(blocked ? [] : invites, ignored, "invite"), this.#stripped(knocks, ignored, "knock")]);

    const response: JsonObject = {};
    const roomsJson: JsonObject = {};
    if (Object.keys(join).length > 0) roomsJson["join"] = join;
    if (Object.keys(invite).length > 0) roomsJson["invite"] = invite;
    if (Object.keys(knock).length > 0) roomsJson["knock"] = knock;
    if (Object.keys(leave).length > 0) roomsJson["leave"] = leave;
    if (Object.keys(roomsJson).length > 0) response["rooms"] = roomsJson;

    const globalData = accountData.filter((item) => item.roomId === undefined && matchesEventFilter(filter.accountData, { type: item.type }));
    if (globalData.length > 0) response["account_data"] = { events: globalData.map((i) => ({ type: i.type, content: i.content })) };

    const newlyShared = await this.#newlyShared(ctx, wanted, entries);
    const [presence, toDevice, deviceLists] = await Promise.all([this.#presence(ctx, ignored, newlyShared), this.#toDevice(ctx), this.#deviceLists(ctx)]);
    const keys = await this.#keyCounts(ctx, toDevice.events.length > 0);
    if (presence.length > 0) response["presence"] = { events: presence };
    if (toDevice.events.length > 0) response["to_device"] = { events: toDevice.events };
    if (deviceLists !== undefined) response["device_lists"] = deviceLists;
    if (keys !== undefined) {
      response["device_one_time_keys_count"] = { ...keys.counts };
      response["device_unused_fallback_key_types"] = [...keys.fallback];
    }

    const empty = response["rooms"] === undefined && presence.length === 0 && globalData.length === 0 && toDevice.events.length === 0 && deviceLists === undefined;
    response["next_batch"] = encodeSyncToken({ ...to, toDevice: toDevice.position });
    return { response, empty };
  }

  /** Whether the user came into the room in the span (not a profile change of a member). */
  async #newlyJoined(userId: string, roomChanges: readonly MembershipAt[]): Promise<boolean> {
    if (roomChanges.some((c) => c.membership !== "join")) return true;
    const first = roomChanges[0];
    if (first === undefined) return false;
    const before = await this.#deps.roomState.stateAt(first.eventId, "before");
    const previousId = before?.get(stateMapKey("m.room.member", userId));
    if (previousId === undefined) return true;
    const [previous] = await this.#deps.timeline.getEvents([previousId]);
    return previous?.event.content["membership"] !== "join";
  }

  // Global and room account data changed in the span (all of it on an initial sync).
  async #accountData(ctx: SyncContext): Promise<AccountDataItem[]> {
    const since = ctx.since?.accountData ?? 0;
    if (ctx.since !== undefined && ctx.to.accountData <= since) return [];
    const changes = (await this.#deps.accountData.changesSince(ctx.userId, since)).filter((c) => c.streamId <= ctx.to.accountData);
    if (ctx.since !== undefined || this.#deps.accountData.unstoredManaged === undefined) return changes;
    return [...(await this.#deps.accountData.unstoredManaged(ctx.userId)), ...changes];
  }

  // invite_state / knock_state: what the member event carried, or the room's state at it.
  async #stripped(memberships: readonly MembershipAt[], ignored: ReadonlySet<string>, kind: "invite" | "knock"): Promise<JsonObject> {
    const out: JsonObject = {};
    if (memberships.length === 0) return out;
    const events = new Map((await this.#deps.timeline.getEvents(memberships.map((m) => m.eventId))).map((e) => [e.event.eventId, e]));
    await Promise.all(
      memberships.map(async (m) => {
        const member = events.get(m.eventId);
        if (member === undefined) return;
        // modules/ignore_users.md: "Servers must not send room invites from ignored users to clients."
        if (kind === "invite" && ignored.has(member.event.sender)) return;
        let stripped = carriedStrippedState(member.event);
        // An invite received over federation to a room not here, or our knock on one: the state it
        // came with (invite_room_state, or the knock_room_state of send_knock).
        if (stripped === undefined && member.outlier) {
          const received = await this.#deps.receivedInvites?.pending(m.roomId, member.event.stateKey ?? "");
          if (received !== undefined && received.eventId === m.eventId) stripped = received.inviteRoomState.flatMap((e) => strippedOf(e, member.event.stateKey));
        }
        if (stripped === undefined) {
          const state = await this.#deps.roomState.stateAt(m.eventId, "after");
          const ids = state === undefined ? [] : strippedStateIds(state, member.event);
          stripped = (await this.#deps.timeline.getEvents(ids)).map((e: RoomEventInfo) => strippedEvent(e.event));
        }
        out[m.roomId] = { [`${kind}_state`]: { events: [...stripped, strippedEvent(member.event)] } };
      }),
    );
    return out;
  }

  // Who came to share a room with the user in the span, as far as the response shows: the members
  // of a room the user joined, and those whose join a joined room's timeline or state carries.
  async #newlyShared(ctx: SyncContext, plans: readonly RoomPlan[], entries: readonly RoomEntry[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (ctx.since === undefined || !this.#deps.presence.enabled || excludesEverything(ctx.filter.presence)) return out;
    for (const entry of entries) for (const member of entry.joinedMembers ?? []) out.add(member);
    for (const plan of plans) {
      if (plan.section !== "join" || !plan.newlyJoined) continue;
      for (const m of await this.#deps.memberships.members(plan.roomId)) if (m.membership === "join") out.add(m.userId);
    }
    out.delete(ctx.userId);
    return out;
  }

  // The presence of the users sharing a room with the user (and their own), changed in the span,
  // and that of the users newly sharing one, changed or not: the client had no reason to know it
  // (presence.md: "Presence information is published to all users who share a room with the target user").
  async #presence(ctx: SyncContext, ignored: ReadonlySet<string>, newlyShared: ReadonlySet<string>): Promise<JsonObject[]> {
    const presence = this.#deps.presence;
    const since = ctx.since?.presence ?? 0;
    if (!presence.enabled || excludesEverything(ctx.filter.presence)) return [];
    const changes = ctx.to.presence <= since ? [] : presence.changesSince(since).changes;
    const changed = new Set(changes.map((c) => c.userId));
    for (const userId of newlyShared) {
      if (changed.has(userId)) continue;
      const content = presence.getPresence(userId);
      // Someone never seen here is offline with nothing to tell: no event (a big room would send thousands).
      if (content.presence === "offline" && content.last_active_ago === undefined && content.status_msg === undefined) continue;
      changes.push({ userId, content });
    }
    if (changes.length === 0) return [];
    const visible = await this.#deps.memberships.usersSharingRoomWith(ctx.userId);
    const events: JsonObject[] = [];
    for (const { userId, content } of changes) {
      if ((userId !== ctx.userId && !visible.has(userId)) || ignored.has(userId)) continue;
      if (!matchesEventFilter(ctx.filter.presence, { type: "m.presence", sender: userId })) continue;
      const event: JsonObject = { type: "m.presence", sender: userId, content: { ...content } };
      events.push(ctx.filter.eventFields === undefined ? event : applyEventFields(event, ctx.filter.eventFields));
    }
    return events;
  }

  // modules/send_to_device.md: the device's messages in order; the token moves only past those sent.
  async #toDevice(ctx: SyncContext): Promise<{ events: JsonObject[]; position: number }> {
    const source = this.#deps.toDevice;
    const since = ctx.since?.toDevice ?? 0;
    if (source === undefined || ctx.deviceId === undefined) return { events: [], position: ctx.to.toDevice };
    if (ctx.since !== undefined && ctx.to.toDevice <= since) return { events: [], position: Math.max(ctx.to.toDevice, since) };
    const batch = await source.messagesFor(ctx.userId, ctx.deviceId, since, TO_DEVICE_LIMIT);
    const position = batch.events.length >= TO_DEVICE_LIMIT ? batch.lastPosition : Math.max(ctx.to.toDevice, batch.lastPosition);
    return { events: batch.events, position };
  }

  // modules/end_to_end_encryption.md#extensions-to-sync: device_lists, on incremental syncs.
  async #deviceLists(ctx: SyncContext): Promise<JsonObject | undefined> {
    const source = this.#deps.deviceLists;
    if (source === undefined || ctx.since === undefined || ctx.to.deviceLists <= ctx.since.deviceLists) return undefined;
    const { changed, left } = await source.changesSince(ctx.userId, ctx.since.deviceLists);
    if (changed.length === 0 && left.length === 0) return undefined;
    return { changed: [...changed], left: [...left] };
  }

  async #keyCounts(ctx: SyncContext, fresh: boolean): Promise<KeyCounts | undefined> {
    const source = this.#deps.keyCounts;
    if (source === undefined || ctx.deviceId === undefined) return undefined;
    return await source.get(ctx.userId, ctx.deviceId, fresh || ctx.since === undefined);
  }
}

export type { RoomEntry };
