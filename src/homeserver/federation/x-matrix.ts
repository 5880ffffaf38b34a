// The `Authorization: X-Matrix ...` header (server-server-api#request-authentication): its
// grammar is RFC 9110 section 11.4 credentials, with the compatibility allowances the spec lists.

/** The parameters of an X-Matrix header. */
export interface XMatrixCredentials {
  readonly origin: string;
  /** Absent in requests from servers older than v1.3, which recipients should still accept. */
  readonly destination: string | undefined;
  /** The signing key ID, `algorithm:version`. */
  readonly key: string;
  readonly sig: string;
}

/** A header that is not X-Matrix, or not well formed. */
export class XMatrixHeaderError extends Error {
  override name = "XMatrixHeaderError";
}

// RFC 9110 section 5.6.2: tchar.
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// "the recipient should allow colons to be included in values without requiring the value to be
// enclosed in quotes" (server-server-api#request-authentication); a slash is let through too, since
// an unquoted base64 signature carries them (as token68 does, RFC 9110 section 11.2).
const UNQUOTED_VALUE_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const OWS = /[ \t]/;

function isVisibleOrSpace(code: number): boolean {
  // qdtext and quoted-pair allow HTAB, SP, VCHAR and obs-text; never other control characters.
  return code === 0x09 || (code >= 0x20 && code !== 0x7f && code <= 0xff);
}

/**
 * Parses an Authorization header as X-Matrix credentials. Parameter names are case-insensitive and
 * in any order; values are tokens (colons allowed) or quoted strings with backslash escapes;
 * unknown parameters are ignored. Throws XMatrixHeaderError for anything else, never another error.
 */
export function parseXMatrixAuthorization(header: string): XMatrixCredentials {
  // The scheme, then one or more spaces (auth schemes are case-insensitive, RFC 9110 section 11.1).
  const scheme = /^x-matrix +/i.exec(header);
  if (scheme === null) throw new XMatrixHeaderError("the Authorization header is not X-Matrix");
  const params = new Map<string, string>();
  let i = scheme[0].length;
  const at = (): string => header[i] ?? "";
  while (i < header.length) {
    // Empty list elements and whitespace around commas are allowed (RFC 9110 section 5.6.1).
    while (OWS.test(at()) || at() === ",") i++;
    if (i >= header.length) break;
    const nameStart = i;
    while (i < header.length && TCHAR.test(at())) i++;
    if (i === nameStart) throw new XMatrixHeaderError(`unexpected character at offset ${i} of the X-Matrix header`);
    const name = header.slice(nameStart, i).toLowerCase();
    while (OWS.test(at())) i++;
    if (at() !== "=") throw new XMatrixHeaderError(`parameter ${name} has no value`);
    i++;
    while (OWS.test(at())) i++;
    let value = "";
    if (at() === '"') {
      i++;
      let closed = false;
      while (i < header.length) {
        const ch = at();
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        if (ch === "\\") {
          i++;
          if (i >= header.length) break;
        }
        if (!isVisibleOrSpace(header.charCodeAt(i))) throw new XMatrixHeaderError(`control character in parameter ${name}`);
        value += at();
        i++;
      }
      if (!closed) throw new XMatrixHeaderError(`unterminated quoted value of parameter ${name}`);
    } else {
      const valueStart = i;
      while (i < header.length && UNQUOTED_VALUE_CHAR.test(at())) i++;
      if (i === valueStart) throw new XMatrixHeaderError(`parameter ${name} has an empty or invalid value`);
      value = header.slice(valueStart, i);
    }
    while (OWS.test(at())) i++;
    if (i < header.length && at() !== ",") throw new XMatrixHeaderError(`expected a comma after parameter ${name}`);
    // A parameter given twice is ambiguous: refuse rather than pick one.
    if (params.has(name)) throw new XMatrixHeaderError(`parameter ${name} appears twice`);
    params.set(name, value);
  }
  const origin = params.get("origin");
  const key = params.get("key");
  const sig = params.get("sig");
  if (origin === undefined || origin === "") throw new XMatrixHeaderError("the X-Matrix header has no origin");
  if (key === undefined || key === "") throw new XMatrixHeaderError("the X-Matrix header has no key");
  if (sig === undefined || sig === "") throw new XMatrixHeaderError("the X-Matrix header has no sig");
  return { origin, destination: params.get("destination"), key, sig };
}

function quoted(name: string, value: string): string {
  // What we send is server names, key IDs and base64: never a quote, backslash or control character.
  if (!/^[\x20-\x7e]*$/.test(value) || /["\\]/.test(value)) throw new Error(`cannot put ${JSON.stringify(value)} in an X-Matrix ${name}`);
  return `${name}="${value}"`;
}

/**
 * The header value for signed request parameters, written as the spec asks senders to for older
 * servers: one space after the scheme, lower-case names, quoted values, no spaces around commas.
 */
export function formatXMatrixAuthorization(credentials: XMatrixCredentials & { destination: string }): string {
  const params = [
    quoted("origin", credentials.origin),
    quoted("destination", credentials.destination),
    quoted("key", credentials.key),
    quoted("sig", credentials.sig),
  ];
  return `X-Matrix ${params.join(",")}`;
}
