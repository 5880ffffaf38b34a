// Checking one server's signature on an event outside the pipeline (server-server-api
// "Validating hashes and signatures on received events"): an invite we are asked to co-sign, the
// invite a remote server signed for us.
import { requiredSignatures, verifyEventSignature } from "../../core/events/sign.ts";
import type { Pdu } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { VerifyKeySource } from "./request-auth.ts";

/**
 * Whether `serverName` signed the event: at least one of its signatures with a known key checks
 * out, and none with a known key fails. Keys must be valid at origin_server_ts from v5 (rooms/v5.md).
 */
export async function isSignedBy(pdu: Pdu, version: RoomVersion, serverName: string, keys: VerifyKeySource): Promise<boolean> {
  const signatures = pdu["signatures"];
  const ofServer = isJsonObject(signatures) ? signatures[serverName] : undefined;
  if (!isJsonObject(ofServer)) return false;
  const ts = typeof pdu["origin_server_ts"] === "number" ? pdu["origin_server_ts"] : 0;
  let good = false;
  for (const keyId of Object.keys(ofServer)) {
    if (!keyId.startsWith("ed25519:")) continue;
    const publicKey = await keys.getVerifyKey(serverName, keyId, version.enforceKeyValidity ? ts : 0);
    // "If a signature is from an unknown or expired key, it is skipped."
    if (publicKey === undefined) continue;
    if (!verifyEventSignature(pdu, version, serverName, keyId, publicKey)) return false;
    good = true;
  }
  return good;
}

/**
 * Whether every server whose signature the event needs signed it ("Validating hashes and
 * signatures on received events": the sender's, the event ID's in v1-v2, a restricted join's
 * authorising server's), the sender's server always among them.
 */
export async function isSignedByRequiredServers(pdu: Pdu, version: RoomVersion, keys: VerifyKeySource): Promise<boolean> {
  const sender = typeof pdu["sender"] === "string" ? serverNameOf(pdu["sender"]) : undefined;
  if (sender === undefined) return false;
  for (const server of new Set([sender, ...requiredSignatures(pdu, version)])) if (!(await isSignedBy(pdu, version, server, keys))) return false;
  return true;
}
