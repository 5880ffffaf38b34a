// Room versions as records of rule flags (rooms/_index.md and rooms/v1.md .. v12.md).
// Code asks a flag, never the version number.

/** How an event ID is formed: rooms/fragments/v1-event-ids.md, rooms/v3.md, rooms/fragments/v4-event-ids.md. */
export type EventIdFormat = "v1" | "v3" | "v4";
/** Which redaction algorithm applies (rooms/fragments/v1-, v6-, v9-, v11-redactions.md, v8.md). */
export type RedactionRules = "v1" | "v6" | "v8" | "v9" | "v11";
/** Which state resolution algorithm applies (rooms/v1.md, fragments/v2-state-res.md, v12.md). */
export type StateResAlgorithm = "v1" | "v2" | "v2.1";

export interface RoomVersion {
  readonly id: string;
  readonly stable: boolean;
  /** v1-v2 events carry `event_id` and reference other events as [id, hashes] pairs. */
  readonly eventIdFormat: EventIdFormat;
  readonly redaction: RedactionRules;
  readonly stateRes: StateResAlgorithm;
  /** v5+: a signing key's valid_until_ts must cover the event's origin_server_ts. */
  readonly enforceKeyValidity: boolean;
  /** v6+: canonical JSON enforced strictly (no floats, integers in range). */
  readonly strictCanonicalJson: boolean;
  /** v1-v5: m.room.aliases has its own auth rule. */
  readonly specialCaseAliasesAuth: boolean;
  /** v1-v2: a redaction is allowed when its event ID's domain matches the redacted event's. */
  readonly redactionAuthByEventIdDomain: boolean;
  /** v6+: the power level needed to send `@room` notifications is checked on power level changes. */
  readonly limitNotificationsPowerLevels: boolean;
  /** v7+: the `knock` membership and join rule. */
  readonly knocking: boolean;
  /** v8+: the `restricted` join rule and `join_authorised_via_users_server`. */
  readonly restrictedJoins: boolean;
  /** v10+: the `knock_restricted` join rule. */
  readonly knockRestrictedJoinRule: boolean;
  /** v10+: power levels must be integers, not strings. */
  readonly integerPowerLevels: boolean;
  /** v1-v10: the create event names its `creator` in content; v11+ the sender is the creator. */
  readonly creatorInContent: boolean;
  /** v11+: `redacts` moves from the top level of m.room.redaction into its content. */
  readonly redactsInContent: boolean;
  /** v12: room IDs are `!` + the reference hash of the create event, which has no room_id. */
  readonly roomIdFromCreateEvent: boolean;
  /** v12: the create event's sender and `additional_creators` outrank every power level. */
  readonly privilegedCreators: boolean;
}

const v1: RoomVersion = {
  id: "1",
  stable: true,
  eventIdFormat: "v1",
  redaction: "v1",
  stateRes: "v1",
  enforceKeyValidity: false,
  strictCanonicalJson: false,
  specialCaseAliasesAuth: true,
  redactionAuthByEventIdDomain: true,
  limitNotificationsPowerLevels: false,
  knocking: false,
  restrictedJoins: false,
  knockRestrictedJoinRule: false,
  integerPowerLevels: false,
  creatorInContent: true,
  redactsInContent: false,
  roomIdFromCreateEvent: false,
  privilegedCreators: false,
};
const v2: RoomVersion = { ...v1, id: "2", stateRes: "v2" };
const v3: RoomVersion = { ...v2, id: "3", eventIdFormat: "v3", redactionAuthByEventIdDomain: false };
const v4: RoomVersion = { ...v3, id: "4", eventIdFormat: "v4" };
const v5: RoomVersion = { ...v4, id: "5", enforceKeyValidity: true };
const v6: RoomVersion = {
  ...v5,
  id: "6",
  redaction: "v6",
  strictCanonicalJson: true,
  specialCaseAliasesAuth: false,
  limitNotificationsPowerLevels: true,
};
const v7: RoomVersion = { ...v6, id: "7", knocking: true };
const v8: RoomVersion = { ...v7, id: "8", redaction: "v8", restrictedJoins: true };
const v9: RoomVersion = { ...v8, id: "9", redaction: "v9" };
const v10: RoomVersion = { ...v9, id: "10", knockRestrictedJoinRule: true, integerPowerLevels: true };
const v11: RoomVersion = { ...v10, id: "11", redaction: "v11", creatorInContent: false, redactsInContent: true };
const v12: RoomVersion = { ...v11, id: "12", stateRes: "v2.1", roomIdFromCreateEvent: true, privilegedCreators: true };

export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersion> = new Map(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12].map((v) => [v.id, v]),
);

/** The version the spec recommends for new rooms (rooms/_index.md: "Servers SHOULD use room version 12"). */
export const DEFAULT_ROOM_VERSION = "12";

/** The rules of a known room version, or undefined for one we do not support. */
export function getRoomVersion(id: string): RoomVersion | undefined {
  return ROOM_VERSIONS.get(id);
}

/** Room version grammar (rooms/_index.md#room-version-grammar): 1-32 of a-z, 0-9, '.', '-'. */
export function isValidRoomVersionId(id: string): boolean {
  return /^[a-z0-9.-]{1,32}$/.test(id);
}
