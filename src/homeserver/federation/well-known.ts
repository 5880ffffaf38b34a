// GET https://<hostname>/.well-known/matrix/server (server-server-api#getwell-knownmatrixserver):
// the delegated server name, and how long the answer may be cached.
import { parseStrictJson } from "../../core/canonical-json/strict-parse.ts";
import { parseServerName, type ServerName } from "../../core/identifiers/index.ts";
import { isJsonObject } from "../../core/json.ts";
import type { HttpsTransport } from "./transport.ts";

const HOUR_MS = 60 * 60 * 1000;
/** server-server-api#resolving-server-names: "The recommended sensible default is 24 hours." */
export const WELL_KNOWN_DEFAULT_CACHE_MS = 24 * HOUR_MS;
/** "Servers should additionally impose a maximum cache time for responses: 48 hours is recommended." */
export const WELL_KNOWN_MAX_CACHE_MS = 48 * HOUR_MS;
/** "Errors are recommended to be cached for up to an hour." */
export const WELL_KNOWN_ERROR_CACHE_MS = HOUR_MS;
/** A floor, so a `max-age=0` does not turn every request into two. */
export const WELL_KNOWN_MIN_CACHE_MS = 5 * 60 * 1000;
/** A delegation document is a line of JSON; anything much bigger is not one. */
const WELL_KNOWN_MAX_BYTES = 50 * 1024;
/** "30x redirects should be followed, however redirection loops should be avoided." */
const MAX_REDIRECTS = 5;
const WELL_KNOWN_TIMEOUT_MS = 10_000;

export interface WellKnownResult {
  /** The `m.server` delegation; undefined when the lookup failed or the answer was invalid. */
  readonly delegated: ServerName | undefined;
  /** How long this result may be kept, in milliseconds. */
  readonly cacheMs: number;
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The cache lifetime a successful response asks for (Cache-Control, then Expires), within bounds. */
export function wellKnownCacheMs(headers: Readonly<Record<string, string | string[] | undefined>>, now: number): number {
  let ms: number | undefined;
  const cacheControl = header(headers, "cache-control")?.toLowerCase();
  if (cacheControl !== undefined) {
    if (/(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/.test(cacheControl)) ms = 0;
    const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/.exec(cacheControl);
    if (ms === undefined && maxAge !== null) ms = Number(maxAge[1]) * 1000;
  }
  if (ms === undefined) {
    const expires = header(headers, "expires");
    const at = expires === undefined ? NaN : Date.parse(expires);
    if (!Number.isNaN(at)) ms = at - now;
  }
  if (ms === undefined) return WELL_KNOWN_DEFAULT_CACHE_MS;
  return Math.min(WELL_KNOWN_MAX_CACHE_MS, Math.max(WELL_KNOWN_MIN_CACHE_MS, ms));
}

/** The `m.server` of a well-known body, or undefined when the body is not a valid one. */
export function parseWellKnownBody(body: Uint8Array): ServerName | undefined {
  let value: unknown;
  try {
    value = parseStrictJson(body);
  } catch {
    return undefined;
  }
  if (!isJsonObject(value)) return undefined;
  const server = value["m.server"];
  return typeof server === "string" ? parseServerName(server) : undefined;
}

/**
 * Fetches the well-known document of a hostname, following redirects. Never throws: a failure of
 * any kind is a result without delegation, cached for an hour ("If the response is invalid (bad
 * JSON, missing properties, non-200 response, etc), skip to step 4").
 */
export async function fetchWellKnown(
  transport: HttpsTransport,
  hostname: string,
  options: { port?: number; now?: () => number } = {},
): Promise<WellKnownResult> {
  const now = options.now ?? Date.now;
  const failed: WellKnownResult = { delegated: undefined, cacheMs: WELL_KNOWN_ERROR_CACHE_MS };
  const port = options.port ?? 443;
  let url: URL = new URL(`https://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/.well-known/matrix/server`);
  const visited = new Set<string>();
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (url.protocol !== "https:" || visited.has(url.href)) return failed;
    visited.add(url.href);
    let response;
    try {
      const targetHost = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      response = await transport.request({
        target: { host: targetHost, port: url.port === "" ? 443 : Number(url.port) },
        hostHeader: url.host,
        method: "GET",
        path: url.pathname + url.search,
        timeoutMs: WELL_KNOWN_TIMEOUT_MS,
        maxResponseBytes: WELL_KNOWN_MAX_BYTES,
      });
    } catch {
      return failed;
    }
    if (response.status >= 300 && response.status < 400) {
      const location = header(response.headers, "location");
      if (location === undefined) return failed;
      try {
        url = new URL(location, url);
      } catch {
        return failed;
      }
      continue;
    }
    if (response.status !== 200) return failed;
    const delegated = parseWellKnownBody(response.body);
    if (delegated === undefined) return failed;
    return { delegated, cacheMs: wellKnownCacheMs(response.headers, now()) };
  }
  return failed;
}
