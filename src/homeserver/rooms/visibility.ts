// Room history visibility (client-server-api "Room History Visibility", modules/history_visibility.md
// "Server behaviour"): whether a user may see an event, decided with the room's state AT that event.
//
// Batched: for a list of events, one read of their state groups, one read of the few state events
// that matter (the m.room.history_visibility and the user's m.room.member at each), both shared by
// events at the same state; those events' contents are cached (their membership and
// history_visibility survive redaction, so a cached value never goes stale).
// Ignored users are not this class's concern (the callers filter them).
import { stateMapKey } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";

export type HistoryVisibilitySetting = "world_readable" | "shared" | "invited" | "joined";

/** Reads one key of a room state. */
export interface StateLookup {
  get(key: string): string | undefined;
}

/** What visibility reads from the room engine. */
export interface VisibilitySource {
  /** The state before and after each event; absent for unknown events and outliers (no known state). */
  statesAt(eventIds: readonly string[]): Promise<ReadonlyMap<string, { readonly before: StateLookup; readonly after: StateLookup }>>;
  /** The content of these (state) events, as served. */
  contents(eventIds: readonly string[]): Promise<ReadonlyMap<string, JsonObject>>;
  getEvent(eventId: string): Promise<RoomEventInfo | undefined>;
}

/** Where the user last joined the room: rule 3 ("the user joined the room at any point after the event"). */
export interface JoinHistory {
  lastJoinedAt(userId: string, roomId: string): Promise<number | undefined>;
}

const HISTORY_VISIBILITY_KEY = stateMapKey("m.room.history_visibility", "");
const CONTENT_CACHE_SIZE = 50_000;

/** The setting an m.room.history_visibility content says; `shared` when absent or not understood. */
export function historyVisibilityOf(content: JsonObject | undefined): HistoryVisibilitySetting {
  const value = content?.["history_visibility"];
  return value === "world_readable" || value === "invited" || value === "joined" ? value : "shared";
}

interface Decision {
  readonly roomId: string;
  readonly streamOrdering: number | undefined;
}

export class HistoryVisibility {
  readonly #source: VisibilitySource;
  readonly #joins: JoinHistory;
  /** Contents of history-visibility and member events by ID, least recently used first. */
  readonly #contents = new Map<string, JsonObject>();

  constructor(source: VisibilitySource, joins: JoinHistory) {
    this.#source = source;
    this.#joins = joins;
  }

  /** The events the user (undefined: an unauthenticated or peeking guest) may see, in the order given. */
  async filterEventsForUser(userId: string | undefined, events: readonly RoomEventInfo[]): Promise<RoomEventInfo[]> {
    const candidates = events.filter((e) => !e.outlier);
    if (candidates.length === 0) return [];
    const states = await this.#source.statesAt(candidates.map((e) => e.event.eventId));
    const memberKey = userId === undefined ? undefined : stateMapKey("m.room.member", userId);

    // The state events that matter, at every event (and before it, for the two special kinds).
    const wanted = new Set<string>();
    const note = (state: StateLookup | undefined): void => {
      const hv = state?.get(HISTORY_VISIBILITY_KEY);
      if (hv !== undefined) wanted.add(hv);
      const member = memberKey === undefined ? undefined : state?.get(memberKey);
      if (member !== undefined) wanted.add(member);
    };
    for (const e of candidates) {
      const state = states.get(e.event.eventId);
      note(state?.after);
      if (isSpecial(e, userId)) note(state?.before);
    }
    const contents = await this.#loadContents([...wanted]);

    const lastJoins = new Map<string, Promise<number | undefined>>();
    const lastJoin = (roomId: string): Promise<number | undefined> => {
      if (userId === undefined) return Promise.resolve(undefined);
      let found = lastJoins.get(roomId);
      if (found === undefined) {
        found = this.#joins.lastJoinedAt(userId, roomId);
        lastJoins.set(roomId, found);
      }
      return found;
    };
    const allowedAt = async (state: StateLookup, at: Decision): Promise<boolean> => {
      const hvId = state.get(HISTORY_VISIBILITY_KEY);
      const visibility = historyVisibilityOf(hvId === undefined ? undefined : contents.get(hvId));
      // 1. world_readable: anyone.
      if (visibility === "world_readable") return true;
      if (userId === undefined || memberKey === undefined) return false;
      const memberId = state.get(memberKey);
      const membership = memberId === undefined ? undefined : contents.get(memberId)?.["membership"];
      // 2. joined at the event.
      if (membership === "join") return true;
      // 3. shared, and joined at any point after the event (history without a position is older than any join).
      if (visibility === "shared") {
        const joined = await lastJoin(at.roomId);
        if (joined !== undefined && (at.streamOrdering === undefined || joined > at.streamOrdering)) return true;
      }
      // 4. invited at the event, with the setting invited.
      return membership === "invite" && visibility === "invited";
    };

    // The user's own leave from an invite or a knock (a rejection, a withdrawal). Before or after
    // hides it when the setting is not `invited` (and a knock never sees), yet it is the one event
    // that tells the client the room is gone: shown, as Synapse does and sytest expects.
    const leavesInviteOrKnock = (e: RoomEventInfo, before: StateLookup): boolean => {
      if (e.event.type !== "m.room.member" || e.event.content["membership"] !== "leave" || memberKey === undefined) return false;
      const priorId = before.get(memberKey);
      const prior = priorId === undefined ? undefined : contents.get(priorId)?.["membership"];
      return prior === "invite" || prior === "knock";
    };

    const out: RoomEventInfo[] = [];
    for (const e of candidates) {
      const state = states.get(e.event.eventId);
      if (state === undefined) continue;
      const at = { roomId: e.event.roomId, streamOrdering: e.streamOrdering };
      // The history-visibility change itself, and the user's own member events: before OR after.
      const visible =
        (await allowedAt(state.after, at)) || (isSpecial(e, userId) && ((await allowedAt(state.before, at)) || leavesInviteOrKnock(e, state.before)));
      if (visible) out.push(e);
    }
    return out;
  }

  /** Whether the user (undefined: unauthenticated) may see the event; false for an unknown one. */
  async canSeeEvent(userId: string | undefined, eventId: string): Promise<boolean> {
    const info = await this.#source.getEvent(eventId);
    if (info === undefined) return false;
    return (await this.filterEventsForUser(userId, [info])).length === 1;
  }

  /** The room's history visibility in a given state (the current one, for peeking and previews). */
  async settingIn(state: StateLookup): Promise<HistoryVisibilitySetting> {
    const hvId = state.get(HISTORY_VISIBILITY_KEY);
    if (hvId === undefined) return "shared";
    return historyVisibilityOf((await this.#loadContents([hvId])).get(hvId));
  }

  async #loadContents(ids: readonly string[]): Promise<Map<string, JsonObject>> {
    const out = new Map<string, JsonObject>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = this.#contents.get(id);
      if (cached === undefined) {
        missing.push(id);
        continue;
      }
      this.#contents.delete(id);
      this.#contents.set(id, cached);
      out.set(id, cached);
    }
    if (missing.length > 0) {
      for (const [id, content] of await this.#source.contents(missing)) {
        // Only what is decided on is kept (names and avatars would fill the cache).
        const kept: JsonObject = {};
        for (const key of ["membership", "history_visibility"]) {
          const value = content[key];
          if (value !== undefined) kept[key] = value;
        }
        out.set(id, kept);
        this.#contents.set(id, kept);
      }
      while (this.#contents.size > CONTENT_CACHE_SIZE) {
        const oldest = this.#contents.keys().next();
        if (oldest.done === true) break;
        this.#contents.delete(oldest.value);
      }
    }
    return out;
  }
}

function isSpecial(e: RoomEventInfo, userId: string | undefined): boolean {
  if (e.event.type === "m.room.history_visibility" && e.event.stateKey === "") return true;
  return userId !== undefined && e.event.type === "m.room.member" && e.event.stateKey === userId;
}
