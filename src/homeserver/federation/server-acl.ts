// Server ACLs (client-server-api#mroomserver_acl, server-server-api#server-access-control-lists-acls):
// which servers may take part in a room. Pure: the caller finds the room's m.room.server_acl.
import { parseServerName, splitServerName } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";

export interface ServerAcl {
  readonly allowIpLiterals: boolean;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** The ACL an m.room.server_acl content describes; non-string entries are ignored. */
export function parseServerAcl(content: JsonObject): ServerAcl {
  const list = (key: string): string[] => {
    const value = content[key];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  };
  // "Defaults to true if missing or otherwise not a boolean."
  const allowIpLiterals = content["allow_ip_literals"] === false ? false : true;
  return { allowIpLiterals, allow: list("allow"), deny: list("deny") };
}

/**
 * appendices#glob-style-matching: `*` matches any sequence, `?` exactly one character; ACL entries
 * are case-insensitive. Iterative, so a hostile pattern costs at most O(pattern x value).
 */
export function matchesGlob(pattern: string, value: string): boolean {
  const p = [...pattern.toLowerCase()];
  const v = [...value.toLowerCase()];
  let pi = 0;
  let vi = 0;
  let star = -1;
  let resume = 0;
  while (vi < v.length) {
    if (pi < p.length && p[pi] === "*") {
      star = pi++;
      resume = vi;
    } else if (pi < p.length && (p[pi] === "?" || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** The server name without its port: ACLs never consider ports. IPv6 literals keep their brackets. */
function hostOf(serverName: string): { host: string; ipLiteral: boolean } | undefined {
  const parsed = parseServerName(serverName);
  if (parsed === undefined) return undefined;
  const { host, kind } = splitServerName(parsed);
  return { host: kind === "ipv6" ? `[${host}]` : host, ipLiteral: kind !== "dns" };
}

/** m.room.server_acl's order: IP literals, then deny, then allow, otherwise deny. */
export function isServerAllowed(acl: ServerAcl | undefined, serverName: string): boolean {
  // 1. "If there is no m.room.server_acl event in the room state, allow."
  if (acl === undefined) return true;
  const server = hostOf(serverName);
  if (server === undefined) return false;
  // 2. IP literals when allow_ip_literals is false.
  if (server.ipLiteral && !acl.allowIpLiterals) return false;
  // 3. "If the server name matches an entry in the deny list, deny."
  if (acl.deny.some((pattern) => matchesGlob(pattern, server.host))) return false;
  // 4. "If the server name matches an entry in the allow list, allow." 5. "Otherwise, deny."
  return acl.allow.some((pattern) => matchesGlob(pattern, server.host));
}

/** The ACL of an m.room.server_acl event's content, or undefined when the content is not an object. */
export function serverAclOf(content: unknown): ServerAcl | undefined {
  return isJsonObject(content) ? parseServerAcl(content) : undefined;
}
