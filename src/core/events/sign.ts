import type { SigningKey } from "../crypto/ed25519.ts";
import { signJson, verifyJsonSignature } from "../crypto/signing.ts";
import { serverNameOf } from "../identifiers/server-name-of.ts";
import { isJsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import { eventJsonOptions, isNestingWithin } from "./event-json.ts";
import { computeContentHash } from "./hashes.ts";
import { redactEvent } from "./redaction.ts";
import type { Pdu } from "./room-event.ts";

/**
 * Adds the content hash and this server's signature to an outgoing event (server-server-api
 * "Adding hashes and signatures to outgoing events"): `hashes.sha256` is set to the content hash,
 * the redacted event is signed, and its signatures (with any others it already had) are copied
 * back onto the full event. Returns a new PDU; the input is not modified.
 */
export function hashAndSignEvent(pdu: Pdu, version: RoomVersion, signingName: string, key: SigningKey): Pdu {
  const hashed: Pdu = { ...pdu, hashes: { sha256: computeContentHash(pdu, version) } };
  const signed = signJson(redactEvent(hashed, version), signingName, key, eventJsonOptions(version));
  return { ...hashed, signatures: signed["signatures"] ?? {} };
}

/**
 * Whether `serverName` signed the event with key `keyId` (server-server-api "Validating hashes and
 * signatures on received events"): the signature covers the redacted event, so it checks out
 * whether the full event or a redacted copy was received. False, never an exception, otherwise.
 */
export function verifyEventSignature(
  pdu: Pdu,
  version: RoomVersion,
  serverName: string,
  keyId: string,
  publicKey: Uint8Array,
): boolean {
  if (!isJsonObject(pdu) || !isNestingWithin(pdu)) return false;
  return verifyJsonSignature(redactEvent(pdu, version), serverName, keyId, publicKey, eventJsonOptions(version));
}

/** Whether a member event is an invite made from a third-party invite (it carries `third_party_invite`). */
function isThirdPartyInvite(pdu: Pdu): boolean {
  const content = pdu["content"];
  return (
    pdu["type"] === "m.room.member" &&
    isJsonObject(content) &&
    content["membership"] === "invite" &&
    content["third_party_invite"] !== undefined
  );
}

/**
 * The servers whose signatures an event must carry (server-server-api "Validating hashes and
 * signatures on received events", and the auth rules of v8+):
 * - the server of the `sender`, except for an invite made from a third-party invite, whose sender
 *   must match the third-party invite while the server sending it "may be a different server";
 * - v1-v2: also the server of the `event_id`, where it differs;
 * - v8+ (restrictedJoins): for an m.room.member with `join_authorised_via_users_server`, that
 *   user's server (rooms/fragments/v8-auth-rules.md 4.2: otherwise the event is rejected).
 * Identifiers that carry no valid server name contribute nothing: the format checks and auth
 * rules deal with those events. Each name is listed once.
 */
export function requiredSignatures(pdu: Pdu, version: RoomVersion): string[] {
  const servers = new Set<string>();
  const add = (id: unknown): void => {
    if (typeof id !== "string") return;
    const serverName = serverNameOf(id);
    if (serverName !== undefined) servers.add(serverName);
  };
  if (!isThirdPartyInvite(pdu)) add(pdu["sender"]);
  if (version.eventIdFormat === "v1") add(pdu["event_id"]);
  const content = pdu["content"];
  if (version.restrictedJoins && pdu["type"] === "m.room.member" && isJsonObject(content)) {
    add(content["join_authorised_via_users_server"]);
  }
  return [...servers];
}
