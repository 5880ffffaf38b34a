// The secrets a session is made of. client-server-api#using-access-tokens: access tokens are opaque
// strings; ours are 256 random bits, URL-safe, with a prefix saying what kind of token it is (so a
// leaked one is recognisable in a scan). Only their SHA-256 is stored.
import { createHash, randomBytes } from "node:crypto";

/** A token's stored form: its SHA-256, so a database leak does not leak live tokens. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

function randomToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function newAccessToken(): string {
  return randomToken("wft");
}

export function newRefreshToken(): string {
  return randomToken("wfr");
}

export function newLoginToken(): string {
  return randomToken("wfl");
}

/** Device IDs as Synapse makes them: ten upper-case letters (47 bits, unique per user). */
export function newDeviceId(): string {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let id = "";
  // 256 is not a multiple of 26: draw again on the top remainder, so every letter is equally likely.
  while (id.length < 10) {
    for (const b of randomBytes(16)) {
      if (b < 234 && id.length < 10) id += letters[b % 26];
    }
  }
  return id;
}
