import { createHmac, timingSafeEqual } from "node:crypto";

// Shared-secret registration, the admin API of Synapse's `register_new_matrix_user`
// (`/_synapse/admin/v1/register`): the MAC is HMAC-SHA1 keyed with `registration_shared_secret` over
// nonce, username, password and "admin"/"notadmin" (and the user type when given), NUL-separated.

export function sharedSecretRegistrationMac(
  sharedSecret: string,
  fields: { nonce: string; username: string; password: string; admin: boolean; userType?: string | undefined },
): string {
  const mac = createHmac("sha1", Buffer.from(sharedSecret, "utf8"));
  mac.update(fields.nonce);
  mac.update("\x00");
  mac.update(fields.username);
  mac.update("\x00");
  mac.update(fields.password);
  mac.update("\x00");
  mac.update(fields.admin ? "admin" : "notadmin");
  if (fields.userType !== undefined) {
    mac.update("\x00");
    mac.update(fields.userType);
  }
  return mac.digest("hex");
}

/** Compares a MAC given in hex with the expected one in constant time. */
export function macMatches(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, "hex");
  const given = Buffer.from(givenHex, "hex");
  return /^[0-9a-fA-F]+$/.test(givenHex) && given.length === expected.length && timingSafeEqual(expected, given);
}
