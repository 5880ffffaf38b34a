// The signed check of an invite made through a third-party identifier: rooms/fragments/v1-auth-rules.md
// rule 5.3.1 (4.3.1 from v3's numbering on, 4.4.1 from v8, 5.4.1 in v12) and
// server-server-api#verifying-the-invite.

import { decodeBase64 } from "../crypto/base64.ts";
import { verifyBytes } from "../crypto/ed25519.ts";
import { signableBytes, signaturesOf } from "../crypto/signing.ts";
import { isJsonObject } from "../json.ts";
import type { JsonObject } from "../json.ts";
import type { RoomEvent } from "../events/room-event.ts";
import { ALLOWED, THIRD_PARTY_INVITE, ownValue, reject } from "./types.ts";
import type { AuthResult, AuthStateLookup } from "./types.ts";

const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/**
 * The public keys of an m.room.third_party_invite event: the single `public_key` and every
 * `public_keys[].public_key`, decoded from unpadded base64 (standard or URL-safe alphabet).
 * Entries that are not a 32-byte key are skipped.
 */
export function thirdPartyInvitePublicKeys(content: JsonObject): Uint8Array[] {
  const encoded: string[] = [];
  const single = ownValue(content, "public_key");
  if (typeof single === "string") encoded.push(single);
  const list = ownValue(content, "public_keys");
  if (Array.isArray(list)) {
    for (const entry of list) {
      if (!isJsonObject(entry)) continue;
      const key = ownValue(entry, "public_key");
      if (typeof key === "string") encoded.push(key);
    }
  }
  const keys: Uint8Array[] = [];
  for (const text of encoded) {
    const key = decodeBase64(text);
    if (key !== undefined && key.byteLength === ED25519_PUBLIC_KEY_BYTES) keys.push(key);
  }
  return keys;
}

/**
 * Whether any ed25519 signature in `signed` verifies under any of the public keys (rule "If any
 * signature in signed matches any public key in the m.room.third_party_invite event, allow").
 * The signed bytes are encoded once and each signature decoded once. Never throws.
 */
export function isSignedByAnyKey(signed: JsonObject, publicKeys: readonly Uint8Array[], lenientNumbers: boolean): boolean {
  if (publicKeys.length === 0) return false;
  let bytes: Uint8Array;
  try {
    bytes = signableBytes(signed, { lenientNumbers });
  } catch {
    return false; // not encodable as canonical JSON: nothing can have signed it
  }
  for (const byKeyId of signaturesOf(signed).values()) {
    for (const [keyId, encoded] of byKeyId) {
      if (!keyId.startsWith("ed25519:")) continue; // appendices#checking-for-a-signature: known algorithms only
      const signature = decodeBase64(encoded);
      if (signature === undefined || signature.byteLength !== ED25519_SIGNATURE_BYTES) continue;
      for (const publicKey of publicKeys) {
        if (verifyBytes(publicKey, bytes, signature)) return true;
      }
    }
  }
  return false;
}

/**
 * The checks on an invite whose content has `third_party_invite` (rooms/fragments/v1-auth-rules.md
 * rule 5.3.1.2 to 5.3.1.8; the ban of the target, 5.3.1.1, is checked by the caller).
 */
export function checkThirdPartyInviteSigned(event: RoomEvent, authState: AuthStateLookup): AuthResult {
  const thirdPartyInvite = ownValue(event.content, "third_party_invite");
  // rule 5.3.1.2: "If content.third_party_invite does not have a signed property, reject."
  const signed = isJsonObject(thirdPartyInvite) ? ownValue(thirdPartyInvite, "signed") : undefined;
  if (!isJsonObject(signed)) return reject("third_party_invite has no signed object");
  // rule 5.3.1.3: "If signed does not have mxid and token properties, reject."
  const mxid = ownValue(signed, "mxid");
  const token = ownValue(signed, "token");
  if (typeof mxid !== "string" || typeof token !== "string") {
    return reject("third_party_invite.signed has no mxid and token strings");
  }
  // rule 5.3.1.4: "If mxid does not match state_key, reject."
  if (mxid !== event.stateKey) return reject("third_party_invite.signed.mxid does not match the state_key");
  // rule 5.3.1.5: an m.room.third_party_invite with state_key matching token must be in the state.
  const invite = authState(THIRD_PARTY_INVITE, token);
  if (invite === undefined) return reject("no m.room.third_party_invite event for the token");
  // rule 5.3.1.6: "If sender does not match sender of the m.room.third_party_invite, reject."
  if (invite.sender !== event.sender) return reject("sender did not send the m.room.third_party_invite");
  // rule 5.3.1.7-8: a signature of signed must match a public key of the m.room.third_party_invite.
  const lenientNumbers = !event.roomVersion.strictCanonicalJson;
  if (isSignedByAnyKey(signed, thirdPartyInvitePublicKeys(invite.content), lenientNumbers)) return ALLOWED;
  return reject("no signature in third_party_invite.signed matches a public key of the m.room.third_party_invite");
}
