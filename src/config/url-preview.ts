// URL previews (GET /media/preview_url), in Synapse's keys and with its defaults and its one hard
// rule: previews fetch whatever URL a user names, so they need an explicit IP blocklist.
import { ConfigError } from "./config-error.ts";
import { ALWAYS_BLOCKED_IP_RANGES } from "./defaults.ts";
import { readIpRanges } from "./federation.ts";
import { describe, isMapping, type Section } from "./section.ts";
import { parseSize } from "./values.ts";
import type { UrlPreviewConfig, UrlPatternRule } from "./types.ts";

/** Synapse's `max_spider_size` default: 10M. */
export const DEFAULT_MAX_SPIDER_SIZE = 10 * 1024 * 1024;

/** The parts of a URL a `url_preview_url_blacklist` entry may match (Python's urlsplit attributes, as Synapse reads them). */
export const URL_PATTERN_PARTS: ReadonlySet<string> = new Set(["scheme", "netloc", "path", "query", "fragment", "username", "password", "hostname", "port"]);


export function readUrlPreview(root: Section): UrlPreviewConfig {
  const enabled = root.boolean("url_preview_enabled", false);
  const hasBlocklist = root.has("url_preview_ip_range_blacklist");
  // Synapse refuses to start without it: a preview may otherwise reach the server's own network.
  if (enabled && !hasBlocklist) {
    root.fail("url_preview_ip_range_blacklist", "is required when url_preview_enabled is true: list the IP ranges previews must never reach (e.g. the private ones)");
  }
  const maxSpiderValue = root.value("max_spider_size");
  const maxSpiderSize = maxSpiderValue === undefined ? DEFAULT_MAX_SPIDER_SIZE : parseSize(maxSpiderValue);
  if (maxSpiderSize === undefined || maxSpiderSize === 0) {
    root.fail("max_spider_size", `must be a size in bytes, e.g. 10485760 or "10M", got ${describe(maxSpiderValue)}`);
  }
  const acceptLanguage = root.stringList("url_preview_accept_language") ?? [];
  const config: UrlPreviewConfig = {
    enabled,
    // As Synapse: 0.0.0.0 and :: are blocked whatever the list says.
    ipRangeBlocklist: [...new Set([...readIpRanges(root, "url_preview_ip_range_blacklist", []), ...ALWAYS_BLOCKED_IP_RANGES])],
    ipRangeAllowlist: readIpRanges(root, "url_preview_ip_range_whitelist", []),
    urlBlocklist: readUrlBlocklist(root),
    maxSpiderSize,
    acceptLanguage: acceptLanguage.length === 0 ? ["en"] : acceptLanguage,
  };
  return config;
}

function readUrlBlocklist(root: Section): UrlPatternRule[] {
  const key = "url_preview_url_blacklist";
  const items = root.list(key) ?? [];
  return items.map((item, i) => {
    const path = `${root.keyPath(key)}[${i}]`;
    if (!isMapping(item)) throw new ConfigError(path, `must be a mapping of URL parts to patterns, got ${describe(item)}`);
    const rule: Record<string, string> = {};
    for (const [part, pattern] of Object.entries(item)) {
      if (!URL_PATTERN_PARTS.has(part)) throw new ConfigError(`${path}.${part}`, `is not a URL part: use one of ${[...URL_PATTERN_PARTS].join(", ")}`);
      // YAML reads `port: 8080` as a number; the pattern is matched against the text.
      const text = typeof pattern === "number" ? String(pattern) : pattern;
      if (typeof text !== "string" || text === "") throw new ConfigError(`${path}.${part}`, `must be a glob, or a regular expression starting with ^, got ${describe(pattern)}`);
      if (text.startsWith("^")) {
        try {
          new RegExp(text);
        } catch (err) {
          throw new ConfigError(`${path}.${part}`, `is not a valid regular expression: ${(err as Error).message}`);
        }
      }
      rule[part] = text;
    }
    return rule;
  });
}
