// The pieces of a third-party invite both its ends read (client-server-api#third-party-invites,
// server-server-api#third-party-invites): the identity server's `signed` block, checked for shape
// before anything acts on it, and the key of an m.room.third_party_invite that signed it, whose
// validity the server redeeming the invite must check at its key_validity_url.
import { decodeBase64 } from "../../core/crypto/base64.ts";
import { isSignedByAnyKey } from "../../core/auth/third-party-invite.ts";
import { parseUserId } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";

export const THIRD_PARTY_INVITE_TYPE = "m.room.third_party_invite";

// v2_store_invite.yaml: the token is "a string consisting of the characters [0-9a-zA-Z.=_-]", at most 255 long.
const TOKEN = /^[0-9a-zA-Z.=_-]{1,255}$/;

/**
 * The `signed` block (signed_third_party_invite.yaml: mxid, token, signatures, a map of server
 * name to key ID to signature), or what is wrong with it. Other keys are kept: the signature
 * covers them.
 */
export function parseSignedInvite(value: unknown): { signed: JsonObject; mxid: string; token: string } | { error: string } {
  if (!isJsonObject(value)) return { error: "signed must be an object" };
  const mxid = value["mxid"];
  const token = value["token"];
  const signatures = value["signatures"];
  if (typeof mxid !== "string" || parseUserId(mxid) === undefined) return { error: "signed.mxid must be a user ID" };
  if (typeof token !== "string" || !TOKEN.test(token)) return { error: "signed.token must be a token of [0-9a-zA-Z.=_-]" };
  if (!isJsonObject(signatures) || !Object.values(signatures).every((byKey) => isJsonObject(byKey) && Object.values(byKey).every((s) => typeof s === "string"))) {
    return { error: "signed.signatures must map server names to key IDs to signatures" };
  }
  return { signed: value, mxid, token };
}

/** One public key of an m.room.third_party_invite, as the event gives it, with where to check it. */
export interface InviteKey {
  readonly publicKey: string;
  /** public_keys[].key_validity_url: "If this URL is absent, the key must be considered valid indefinitely." */
  readonly keyValidityUrl: string | undefined;
}

/** The keys of an m.room.third_party_invite's content: `public_key` (with `key_validity_url`) and each of `public_keys`. */
function inviteKeys(content: JsonObject): InviteKey[] {
  const keys: InviteKey[] = [];
  const url = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
  if (typeof content["public_key"] === "string") keys.push({ publicKey: content["public_key"], keyValidityUrl: url(content["key_validity_url"]) });
  const list = content["public_keys"];
  for (const entry of Array.isArray(list) ? list : []) {
    if (isJsonObject(entry) && typeof entry["public_key"] === "string") keys.push({ publicKey: entry["public_key"], keyValidityUrl: url(entry["key_validity_url"]) });
  }
  return keys;
}

/**
 * The key of the m.room.third_party_invite whose signature is in `signed` (the auth rules' "any
 * signature in signed matches any public key"), or undefined when none matches.
 */
export function signingInviteKey(inviteContent: JsonObject, signed: JsonObject, version: RoomVersion): InviteKey | undefined {
  for (const key of inviteKeys(inviteContent)) {
    const decoded = decodeBase64(key.publicKey);
    if (decoded !== undefined && isSignedByAnyKey(signed, [decoded], !version.strictCanonicalJson)) return key;
  }
  return undefined;
}
