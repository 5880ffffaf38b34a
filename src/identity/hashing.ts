// identity-service-api#association-lookup: the forms /lookup takes its addresses in, and the
// pepper clients hash with (identity-service-api#sha256; the hash itself is core's lookupHash).
import { randomBytes } from "node:crypto";

/** The algorithms /hash_details offers, `sha256` first as the spec prefers it. */
export const LOOKUP_ALGORITHMS = ["none", "sha256"] as const;
export type LookupAlgorithm = (typeof LOOKUP_ALGORITHMS)[number];

export function isLookupAlgorithm(value: string): value is LookupAlgorithm {
  return (LOOKUP_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * identity-service-api#none: "<address> <medium>" split at its last space (an address may hold
 * spaces, a medium cannot); undefined for a string without one.
 */
export function splitPlainLookup(query: string): { address: string; medium: string } | undefined {
  const space = query.lastIndexOf(" ");
  if (space <= 0 || space === query.length - 1) return undefined;
  return { address: query.slice(0, space), medium: query.slice(space + 1) };
}

/**
 * A new pepper: random, URL-safe, long enough that hashes cannot be precomputed for it
 * (identity-service-api#security-considerations warns clients of weak peppers).
 */
export function generatePepper(): string {
  return randomBytes(24).toString("base64url");
}
