// Pieces shared by the sigil identifiers (appendices#common-identifier-format): `&localpart:domain`
// and the limits that apply to all of them.

import { parseServerName } from "./server-name.ts";
import type { ServerName } from "./server-name.ts";

// User IDs, room IDs, room aliases and event IDs "MUST NOT exceed 255 bytes" (appendices#identifier-grammar).
export const MAX_IDENTIFIER_BYTES = 255;

/** The length of `s` in UTF-8 bytes, which is what the 255-byte limits count. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (const char of s) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

// "any valid non-surrogate Unicode code points except `:` and `NUL`" (appendices#room-ids,
// #room-aliases, #historical-user-ids). With the `u` flag a lone surrogate is matched by \p{Cs}.
const LIBERAL_LOCALPART = /^[^:\0\p{Cs}]*$/u;

/** Whether `s` is made only of the code points a historical localpart may hold (the empty string included). */
export function isLiberalLocalpart(s: string): boolean {
  return LIBERAL_LOCALPART.test(s);
}

/**
 * Splits `&localpart:domain` at the first colon, as the grammars require (the localpart holds no
 * colon, the server name may: a port, an IPv6 literal). Checks the sigil, the server name and the
 * 255-byte limit; the caller checks the localpart.
 */
export function splitSigilIdentifier(
  s: string,
  sigil: string,
): { localpart: string; serverName: ServerName } | undefined {
  if (!s.startsWith(sigil)) return undefined;
  const colon = s.indexOf(":");
  if (colon < 0) return undefined;
  const serverName = parseServerName(s.slice(colon + 1));
  if (serverName === undefined) return undefined;
  if (utf8Length(s) > MAX_IDENTIFIER_BYTES) return undefined;
  return { localpart: s.slice(sigil.length, colon), serverName };
}

// The reference hash is SHA-256: 32 bytes, 43 characters of unpadded base64 (rooms/v3.md#event-ids,
// rooms/fragments/v4-event-ids.md). The last character carries 4 bits and two zero bits, so only
// the 16 characters whose low two bits are zero can end a canonical encoding.
const STANDARD_HASH = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]$/;
const URL_SAFE_HASH = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Whether `s` is a SHA-256 hash in unpadded base64, standard or URL-safe alphabet. */
export function isEncodedReferenceHash(s: string, alphabet: "standard" | "url-safe"): boolean {
  return (alphabet === "standard" ? STANDARD_HASH : URL_SAFE_HASH).test(s);
}
