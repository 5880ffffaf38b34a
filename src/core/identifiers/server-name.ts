// Server names (appendices#server-name): `hostname [ ":" port ]`, where the hostname is a
// dotted-quad IPv4 literal, a bracketed IPv6 literal or a DNS name.

/** A string that matches the server name grammar. Compared case-sensitively, as the spec requires. */
export type ServerName = string & { readonly __brand: "ServerName" };

/** What kind of hostname a server name carries. */
export type ServerNameKind = "dns" | "ipv4" | "ipv6";

// dns-name = 1*255dns-char (appendices#server-name).
const MAX_DNS_NAME_LENGTH = 255;
// IPv6address = 2*45IPv6char (appendices#server-name).
const MIN_IPV6_LENGTH = 2;
const MAX_IPV6_LENGTH = 45;

// "a series of labels separated by `.`, where each label consists of the alphanumeric
// characters or hyphens" (appendices#server-name): so no empty labels, and no trailing dot.
const DNS_NAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
const ALL_DIGITS = /^[0-9]+$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
// port = 1*5DIGIT.
const PORT = /^[0-9]{1,5}$/;

/** A dotted-quad IPv4 literal: four decimal numbers of 1-3 digits, each 0 to 255. */
function isIPv4Address(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * An IPv6 address in the text forms of RFC 3513 section 2.2: eight groups of 1-4 hex digits,
 * at most one `::` standing for one or more zero groups, and optionally a dotted-quad IPv4
 * address in place of the last two groups. Zone identifiers (`%eth0`) are not part of it.
 */
function isIPv6Address(s: string): boolean {
  if (s.length < MIN_IPV6_LENGTH || s.length > MAX_IPV6_LENGTH) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  const groupLists = halves.map((half) => (half === "" ? [] : half.split(":")));
  let groups = 0;
  for (const [listIndex, list] of groupLists.entries()) {
    for (const [index, group] of list.entries()) {
      const lastOfAddress = listIndex === groupLists.length - 1 && index === list.length - 1;
      if (lastOfAddress && group.includes(".")) {
        if (!isIPv4Address(group)) return false;
        groups += 2;
      } else if (HEX_GROUP.test(group)) {
        groups += 1;
      } else {
        return false;
      }
    }
  }
  // `::` stands for at least one group of zeros (RFC 3513 section 2.2, form 2).
  return compressed ? groups <= 7 : groups === 8;
}

/**
 * A DNS name. The grammar alone would also take `1.2.3.256` or `12345`, which read as broken IP
 * literals; RFC 1123 section 2.1 (on which the spec bases the grammar) keeps the highest-level
 * label alphabetic for that reason, so a name whose last label is all digits must be an IPv4 literal.
 */
function isDnsName(s: string): boolean {
  if (s.length > MAX_DNS_NAME_LENGTH || !DNS_NAME.test(s)) return false;
  const lastLabel = s.slice(s.lastIndexOf(".") + 1);
  return !ALL_DIGITS.test(lastLabel);
}

interface SplitServerName {
  host: string;
  port: number | undefined;
  kind: ServerNameKind;
}

function split(s: string): SplitServerName | undefined {
  let host: string;
  let portText: string | undefined;
  let kind: ServerNameKind;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return undefined;
    host = s.slice(1, close);
    if (!isIPv6Address(host)) return undefined;
    kind = "ipv6";
    const rest = s.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = s.indexOf(":");
    host = colon < 0 ? s : s.slice(0, colon);
    if (colon >= 0) portText = s.slice(colon + 1);
    if (isIPv4Address(host)) kind = "ipv4";
    else if (isDnsName(host)) kind = "dns";
    else return undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!PORT.test(portText)) return undefined;
    port = Number(portText);
    // Port 0 is not a port anyone can be reached on; 65535 is the largest TCP port.
    if (port < 1 || port > 65535) return undefined;
  }
  return { host, port, kind };
}

/** The server name in `s`, or undefined when `s` does not match the grammar. */
export function parseServerName(s: string): ServerName | undefined {
  return split(s) === undefined ? undefined : (s as ServerName);
}

/**
 * The parts of a server name. For an IPv6 literal, `host` is the address without its square
 * brackets (`[::1]:8448` gives host `::1`); callers that put it back into a URL or a Host header
 * must add them again.
 */
export function splitServerName(name: ServerName): { host: string; port: number | undefined; kind: ServerNameKind } {
  const parts = split(name);
  // A ServerName only comes out of parseServerName, so this is a broken cast somewhere.
  if (parts === undefined) throw new TypeError(`not a server name: ${JSON.stringify(name)}`);
  return parts;
}
