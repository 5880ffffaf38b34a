// The suggested mapping from other character sets onto user ID localparts
// (appendices#mapping-from-other-character-sets), e.g. for a username given to /register
// or a bridged user's name.

// The current localpart characters (appendices#user-identifiers) but `=`, which escapes.
const KEPT = /^[a-z0-9\-._/+]$/;

/**
 * Maps `name` onto the current localpart grammar: UTF-8 bytes, A-Z lowered, and every other byte
 * outside the grammar, and `=`, written as `=` and two lowercase hex digits (`#` gives `=23`,
 * `á` gives `=c3=a1`). With `preserveCase`, an upper-case letter becomes `_` and its lower case,
 * and `_` becomes `__`, so names that differ only by case stay apart. The empty name maps to the
 * empty string, which is not a valid localpart.
 */
export function mapToLocalpart(name: string, options?: { preserveCase?: boolean }): string {
  const preserveCase = options?.preserveCase ?? false;
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const char = String.fromCharCode(byte);
    if (byte >= 0x41 && byte <= 0x5a) {
      out += (preserveCase ? "_" : "") + char.toLowerCase();
    } else if (preserveCase && char === "_") {
      out += "__";
    } else if (KEPT.test(char)) {
      out += char;
    } else {
      out += "=" + byte.toString(16).padStart(2, "0");
    }
  }
  return out;
}
