// The server part of a sigil identifier (appendices#common-identifier-format), whichever kind it is.

import { parseUserId } from "./user-id.ts";
import { parseRoomId } from "./room-id.ts";
import { parseRoomAlias } from "./room-alias.ts";
import { parseEventId } from "./event-id.ts";
import { splitSigilIdentifier } from "./common.ts";
import type { ServerName } from "./server-name.ts";
import { rememberRecent } from "../recent-map.ts";

/**
 * Answers already worked out, by identifier: the same user and room IDs are asked about at every
 * event (is the sender local? whose room is it?), and checking an identifier's whole grammar costs
 * a hundred times a lookup. Bounded, least recently worked out first out: IDs come from the network.
 */
const known = new Map<string, ServerName | null>();
const KNOWN_MAX = 20_000;

/**
 * The server name of a user ID (historical grammar), a room ID of v1-v11, a room alias or an
 * event ID of v1-v2: what follows the FIRST colon, since localparts hold none. Undefined for an
 * invalid identifier or one without a server part (v12 room IDs, v3+ event IDs).
 */
export function serverNameOf(id: string): ServerName | undefined {
  const found = known.get(id);
  if (found !== undefined) return found ?? undefined;
  const answer = workOut(id);
  rememberRecent(known, id, answer ?? null, KNOWN_MAX);
  return answer;
}

function workOut(id: string): ServerName | undefined {
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
