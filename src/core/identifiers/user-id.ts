// User identifiers (appendices#user-identifiers): `@localpart:domain`.

import { MatrixError } from "../errors.ts";
import { isLiberalLocalpart, MAX_IDENTIFIER_BYTES, splitSigilIdentifier, utf8Length } from "./common.ts";
import { parseServerName } from "./server-name.ts";
import type { ServerName } from "./server-name.ts";

/** A string that matches the user ID grammar (historical or current, as it was parsed). */
export type UserId = string & { readonly __brand: "UserId" };

// user_id_localpart = 1*user_id_char; a-z 0-9 - . = _ / + (appendices#user-identifiers).
const CURRENT_LOCALPART = /^[a-z0-9\-.=_/+]+$/;
// Outside U+0021..U+007E, or empty, a localpart is "non-compliant" (appendices#historical-user-ids).
const COMPLIANT_LOCALPART = /^[\x21-\x7e]+$/;

/** Whether `localpart` matches the current user ID grammar: what registration may allocate. */
export function isValidLocalpart(localpart: string): boolean {
  return CURRENT_LOCALPART.test(localpart);
}

/**
 * The user ID in `s`, or undefined. With `historical` (the default) the localpart may be any
 * non-surrogate code points but `:` and NUL, even empty: servers MUST accept such IDs, which
 * live on in room history (appendices#historical-user-ids). With `historical: false` only the
 * current grammar is accepted. Either way the whole ID is at most 255 bytes.
 */
export function parseUserId(s: string, options?: { historical?: boolean }): UserId | undefined {
  const parts = splitSigilIdentifier(s, "@");
  if (parts === undefined) return undefined;
  const historical = options?.historical ?? true;
  const localpartOk = historical ? isLiberalLocalpart(parts.localpart) : isValidLocalpart(parts.localpart);
  return localpartOk ? (s as UserId) : undefined;
}

/** The localpart and the server name of a user ID. */
export function userIdParts(id: UserId): { localpart: string; serverName: ServerName } {
  const parts = splitSigilIdentifier(id, "@");
  // A UserId only comes out of parseUserId or userId, so this is a broken cast somewhere.
  if (parts === undefined) throw new TypeError(`not a user ID: ${JSON.stringify(id)}`);
  return parts;
}

/**
 * Whether a (historically valid) user ID is also compliant: a non-empty localpart of U+0021..U+007E.
 * Servers SHOULD NOT forward non-compliant IDs to clients outside the context of an event, e.g.
 * device list updates (appendices#historical-user-ids).
 */
export function isCompliantUserId(id: UserId): boolean {
  return COMPLIANT_LOCALPART.test(userIdParts(id).localpart);
}

/**
 * Builds `@localpart:serverName` for a new user, under the current grammar. Throws
 * M_INVALID_USERNAME when the localpart breaks the grammar or the ID would pass 255 bytes (the
 * caller's input), and a TypeError when the server name is invalid (our own configuration).
 */
export function userId(localpart: string, serverName: string): UserId {
  if (parseServerName(serverName) === undefined) {
    throw new TypeError(`not a server name: ${JSON.stringify(serverName)}`);
  }
  if (!isValidLocalpart(localpart)) {
    throw new MatrixError("M_INVALID_USERNAME", "User ID localparts may only contain a-z, 0-9, '.', '_', '=', '-', '/' and '+'", 400);
  }
  const id = `@${localpart}:${serverName}`;
  if (utf8Length(id) > MAX_IDENTIFIER_BYTES) {
    throw new MatrixError("M_INVALID_USERNAME", `User IDs may not be longer than ${MAX_IDENTIFIER_BYTES} bytes`, 400);
  }
  return id as UserId;
}
