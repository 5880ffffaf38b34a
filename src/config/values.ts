// Parsers for the value shapes homeserver.yaml shares with Synapse: sizes ("50M") and IP ranges.
import { isIP } from "node:net";

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** A byte count: an integer, or digits with a K, M or G suffix (powers of 1024, as Synapse). */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+)\s*([KMG]?)$/i.exec(value.trim());
  if (match === null) return undefined;
  const unit = SIZE_UNITS[(match[2] ?? "").toUpperCase()] ?? 1;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * An IPv4 or IPv6 range as `addr/prefix` (a bare address is a one-address range, as Synapse's
 * netaddr reads it), lower-cased; undefined when it is not one.
 */
export function normaliseIpRange(value: string): string | undefined {
  const slash = value.indexOf("/");
  const address = (slash < 0 ? value : value.slice(0, slash)).toLowerCase();
  if (address.includes("%")) return undefined; // zone IDs name an interface, not a range
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return `${address}/${max}`;
  const prefixText = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? `${address}/${prefix}` : undefined;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
  y: 365 * 24 * 60 * 60 * 1000,
};

/**
 * A duration in milliseconds, as Synapse reads one: an integer is milliseconds; a string is digits
 * with an optional `ms`, `s`, `m`, `h`, `d`, `w` or `y` suffix (no suffix: milliseconds).
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+)\s*(ms|[smhdwy]?)$/.exec(value.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 1);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
