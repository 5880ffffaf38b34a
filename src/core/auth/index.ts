// The authorization rules of room versions 1-12 (server-server-api#authorisation-rules) and the
// power level helpers state resolution shares with them.

export type { AuthResult, AuthStateLookup } from "./types.ts";
export { checkEventAuth } from "./check-event-auth.ts";
export { authEventsSelection, checkAuthEventsList } from "./auth-events.ts";
export type { AuthEventsSelectionInput } from "./auth-events.ts";
export { isPowerEvent } from "./power-event.ts";
export { checkPowerLevelsContent } from "./power-levels-change.ts";
export { currentJoinRule, effectiveMembership, joinAuthorisingServer } from "./membership.ts";
export {
  actionLevel,
  isPrivilegedCreator,
  NAMED_LEVEL_KEYS,
  parsePowerLevelValue,
  powerLevelOf,
  requiredPowerLevel,
  roomCreators,
} from "./power-levels.ts";
export type { ActionLevel, NamedLevelKey } from "./power-levels.ts";
export { thirdPartyInvitePublicKeys } from "./third-party-invite.ts";
