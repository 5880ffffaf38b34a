// What sync reads from the other areas, as small interfaces: the room membership index (rooms),
// timelines, event serialisation and state (events, roomserver), history visibility (rooms), and
// the end-to-end encryption streams (e2ee). sync.ts adapts the real services to these; tests may
// give their own.
import type { StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";

/** client-server-api#mroommember `membership`. */
export type Membership = "join" | "invite" | "leave" | "ban" | "knock";

/** A user's membership of a room, and where it became current in the room stream. */
export interface MembershipAt {
  readonly roomId: string;
  readonly membership: Membership;
  readonly eventId: string;
  readonly streamOrdering: number;
}

/** The membership index (rooms/membership-index.ts). */
export interface SyncMemberships {
  /** Resolves once the index has applied the room stream up to the position. */
  waitUntil(streamOrdering: number): Promise<void>;
  /** The room stream's head as the index has received it (read once at start). */
  readonly position: number;
  roomsForUser(userId: string, memberships?: readonly Membership[]): Promise<MembershipAt[]>;
  /** Every change with since < position <= to, oldest first. */
  membershipChangesSince(userId: string, since: number, to: number): Promise<MembershipAt[]>;
  members(roomId: string): Promise<ReadonlyArray<{ readonly userId: string; readonly membership: Membership; readonly streamOrdering: number }>>;
  usersSharingRoomWith(userId: string): Promise<ReadonlySet<string>>;
}

/** A stream entry of a room's timeline. */
export interface TimelineEntry {
  readonly streamOrdering: number;
  readonly eventId: string;
}

/** A room's timeline in stream order (events/timeline.ts), and the events themselves. */
export interface SyncTimeline {
  /** At most `limit` entries with positions in (from, to]: `f` oldest first, `b` newest first. */
  entriesBetween(roomId: string, from: number, to: number | undefined, limit: number, direction: "f" | "b"): Promise<TimelineEntry[]>;
  /** The newest position of the room's stream, or 0. */
  latestPosition(roomId: string): Promise<number>;
  getEvents(eventIds: readonly string[]): Promise<RoomEventInfo[]>;
}

/** Room state at events (the roomserver). */
export interface SyncRoomState {
  stateAt(eventId: string, when: "before" | "after"): Promise<StateMap | undefined>;
}

/** History visibility (rooms/visibility.ts). */
export interface SyncVisibility {
  filterEventsForUser(userId: string, events: readonly RoomEventInfo[]): Promise<RoomEventInfo[]>;
}

/** Serving events (events/serializer.ts). */
export interface SyncSerializer {
  serialize(
    events: readonly RoomEventInfo[],
    options: {
      readonly userId?: string;
      readonly deviceId?: string;
      readonly format?: "client" | "federation";
      readonly bundleAggregations?: boolean;
      readonly withoutRoomId?: boolean;
    },
  ): Promise<JsonObject[]>;
}

/** Send-to-device messages (e2ee). */
export interface SyncToDevice {
  messagesFor(userId: string, deviceId: string, afterPosition: number, limit: number): Promise<{ readonly events: JsonObject[]; readonly lastPosition: number }>;
  acknowledge(userId: string, deviceId: string, upToPosition: number): Promise<void>;
  position(): number;
}

/** Device list changes (e2ee). */
export interface SyncDeviceLists {
  changesSince(userId: string, sincePosition: number): Promise<{ readonly changed: readonly string[]; readonly left: readonly string[] }>;
  position(): number;
}

/** One-time and fallback keys (e2ee). */
export interface SyncOneTimeKeys {
  counts(userId: string, deviceId: string): Promise<Record<string, number>>;
  unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]>;
}

/** Account data (account-data/account-data-service.ts). */
export interface SyncAccountData {
  changesSince(userId: string, since: number): Promise<ReadonlyArray<{ readonly roomId: string | undefined; readonly type: string; readonly content: JsonObject; readonly streamId: number }>>;
  /** The server-managed global types (m.push_rules) the user has stored nothing of, as they read: an initial sync sends them too. */
  unstoredManaged?(userId: string): Promise<ReadonlyArray<{ readonly roomId: string | undefined; readonly type: string; readonly content: JsonObject; readonly streamId: number }>>;
  currentPosition(): Promise<number>;
}

/**
 * Invites of our users received over federation to rooms this server is not in, and their knocks
 * on such rooms (federation/invites.ts): the room state the inviting server described the room
 * with (invite_room_state), or the one the knocked-on server answered (knock_room_state).
 */
export interface SyncReceivedInvites {
  pending(roomId: string, userId: string): Promise<{ readonly eventId: string; readonly inviteRoomState: readonly JsonObject[] } | undefined>;
}
