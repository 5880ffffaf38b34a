// Third-party identifiers (appendices#3pid-types) and the hashed lookup of identity-service-api#lookup.
import { createHash, randomInt } from "node:crypto";

export type ThreepidMedium = "email" | "msisdn";

export function isThreepidMedium(value: unknown): value is ThreepidMedium {
  return value === "email" || value === "msisdn";
}

/**
 * An email address as it is compared and stored (appendices#3pid-types "E-Mail"): the domain
 * lowercased and the whole address case-folded, so that `Strauß@Example.com` is `strauss@example.com`.
 * Upper-casing first gives the full folding (ß to SS, then ss) that toLowerCase alone leaves out.
 */
export function canonicalEmail(address: string): string {
  return address.trim().normalize("NFKC").toUpperCase().toLowerCase();
}

/**
 * A plausible bare `user@domain` address (appendices#3pid-types: no real name, angle brackets or
 * mailto: prefix), whose domain has a dot and no empty label: a bare "localhost" is not mailed.
 */
export function isEmailAddress(address: string): boolean {
  if (address.length > 254 || !/^[^\s@<>()[\]:;,"\\]+@[^\s@<>()[\]:;,"\\]+$/.test(address)) return false;
  const labels = address.slice(address.lastIndexOf("@") + 1).split(".");
  return labels.length > 1 && labels.every((label) => label !== "");
}

/** The canonical form of `input` (surrounding spaces dropped) when it is an email address; undefined otherwise. */
export function parseEmailAddress(input: string): string | undefined {
  const address = input.trim();
  return isEmailAddress(address) ? canonicalEmail(address) : undefined;
}

/** identity-service-api#sha256: URL-safe unpadded base64 of SHA-256 over "<address> <medium> <pepper>". */
export function lookupHash(address: string, medium: string, pepper: string): string {
  return createHash("sha256").update(`${address} ${medium} ${pepper}`).digest("base64url");
}

/** The client_secret and sid grammar of the validation APIs (request_token_response.yaml, identity-service-api): [0-9a-zA-Z.=_-], 1 to 255. */
export function isClientSecret(value: string): boolean {
  return /^[0-9a-zA-Z.=_-]{1,255}$/.test(value);
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A random string of letters and digits: a validation session's sid, or a mailed token (both fit the sid grammar, and people can type them). */
export function randomAlphanumeric(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** Whether `value` is an absolute http(s) URL: where a validation may send the user's browser (next_link) or link back to. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}
