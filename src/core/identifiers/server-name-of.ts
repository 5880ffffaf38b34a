// The server part of a sigil identifier (appendices#common-identifier-format), whichever kind it is.

import { parseUserId } from "./user-id.ts";
import { parseRoomId } from "./room-id.ts";
import { parseRoomAlias } from "./room-alias.ts";
import { parseEventId } from "./event-id.ts";
import { splitSigilIdentifier } from "./common.ts";
import type { ServerName } from "./server-name.ts";

/**
 * The server name of a user ID (historical grammar), a room ID of v1-v11, a room alias or an
 * event ID of v1-v2: what follows the FIRST colon, since localparts hold none. Undefined for an
 * invalid identifier or one without a server part (v12 room IDs, v3+ event IDs).
 */
export function serverNameOf(id: string): ServerName | undefined {
  const sigil = id.charAt(0);
  let valid: boolean;
  switch (sigil) {
    case "@":
      valid = parseUserId(id) !== undefined;
      break;
    case "!":
      valid = parseRoomId(id) !== undefined;
      break;
    case "#":
      valid = parseRoomAlias(id) !== undefined;
      break;
    case "$":
      valid = parseEventId(id, "v1") !== undefined;
      break;
    default:
      return undefined;
  }
  return valid ? splitSigilIdentifier(id, sigil)?.serverName : undefined;
}
