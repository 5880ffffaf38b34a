// The identifier grammar of the Matrix spec (appendices#identifier-grammar): one file per kind.

export { parseServerName, splitServerName } from "./server-name.ts";
export type { ServerName, ServerNameKind } from "./server-name.ts";
export { parseUserId, userIdParts, isValidLocalpart, isCompliantUserId, userId } from "./user-id.ts";
export type { UserId } from "./user-id.ts";
export { parseRoomId } from "./room-id.ts";
export type { RoomId } from "./room-id.ts";
export { parseRoomAlias } from "./room-alias.ts";
export type { RoomAlias } from "./room-alias.ts";
export { parseEventId } from "./event-id.ts";
export type { EventId } from "./event-id.ts";
export { serverNameOf } from "./server-name-of.ts";
export { isValidOpaqueId } from "./opaque-id.ts";
export { isValidNamespacedId } from "./namespaced-id.ts";
export { mapToLocalpart } from "./localpart-mapping.ts";
export { MAX_IDENTIFIER_BYTES } from "./common.ts";
