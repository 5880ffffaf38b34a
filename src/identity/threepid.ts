// Third-party identifiers as the identity service takes them (appendices#3pid-types): phone numbers
// as E.164 MSISDNs without the '+', and the redacted form of an address that /store-invite answers
// as `display_name`. Email addresses are read with core's parseEmailAddress (core/identifiers/threepid.ts).
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js";

/**
 * appendices#3pid-types "PSTN Phone numbers": `phoneNumber` as dialled in `country` (ISO 3166-1
 * alpha-2, v2_phone_associations.yaml), as an E.164 MSISDN without its '+'; undefined when it is
 * not a possible number there.
 */
export function canonicalMsisdn(phoneNumber: string, country: string): string | undefined {
  if (!/^[A-Z]{2}$/.test(country)) return undefined;
  let parsed;
  try {
    parsed = parsePhoneNumberFromString(phoneNumber, country as CountryCode);
  } catch {
    return undefined;
  }
  // Possible (a number of a length the country dials), not necessarily allocated: numbers set
  // aside for fiction and tests, such as the spec's own 07700900001, are still numbers.
  if (parsed === undefined || !parsed.isPossible()) return undefined;
  return parsed.number.slice(1);
}

/**
 * v2_store_invite.yaml `display_name`: "a redacted version of `address` which does not leak the
 * full contents of the address". The local part keeps its first three characters when it has more
 * than four (one when shorter), the domain the start of its first label, each followed by "...":
 * `alice@example.org` is `ali...@ex...`, `foo@bar.com` is `f...@b...` (the spec's example).
 */
export function redactedEmail(address: string): string {
  const at = address.lastIndexOf("@");
  if (at === -1) return reveal(address, address.length > 4 ? 3 : 1);
  const local = address.slice(0, at);
  const firstLabel = address.slice(at + 1).split(".")[0] ?? "";
  return `${reveal(local, local.length > 4 ? 3 : 1)}@${reveal(firstLabel, firstLabel.length > 3 ? 2 : 1)}`;
}

function reveal(text: string, count: number): string {
  // Whole code points, so a redaction never cuts a character in two.
  return `${[...text].slice(0, Math.min(count, Math.max(0, [...text].length - 1))).join("")}...`;
}
