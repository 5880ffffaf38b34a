// Check 2 of server-server-api "Checks performed on receipt of a PDU": "Passes signature checks,
// otherwise it is dropped" (server-server-api "Validating hashes and signatures on received events";
// appendices "Checking for a Signature"). The Ed25519 verifications run on libuv's thread pool
// (node:crypto's asynchronous verify), so a batch's events are verified side by side and off the
// thread that runs the rest of the pipeline.
import { createPublicKey, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { decodeBase64 } from "../../../core/crypto/base64.ts";
import { eventJsonOptions } from "../../../core/events/event-json.ts";
import { POLICY_SERVER_KEY_ID } from "../../../core/events/policy-server.ts";
import { redactEvent } from "../../../core/events/redaction.ts";
import type { RoomEvent } from "../../../core/events/room-event.ts";
import { requiredSignatures } from "../../../core/events/sign.ts";
import { signableBytes } from "../../../core/crypto/signing.ts";
import { isJsonObject } from "../../../core/json.ts";
import type { KeyRing } from "../keyring.ts";
import type { PduBytes } from "./pdu-bytes.ts";

// The DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410), to import a raw 32-byte key.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keyObjects = new Map<string, KeyObject>();

function keyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.byteLength !== 32) return undefined;
  const id = Buffer.from(publicKey).toString("base64");
  let key = keyObjects.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    if (keyObjects.size >= 1024) keyObjects.clear();
    keyObjects.set(id, key);
  }
  return key;
}

function verifyAsync(data: Buffer, publicKey: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = keyObject(publicKey);
  if (key === undefined || signature.byteLength !== 64) return Promise.resolve(false);
  return new Promise((resolve) => {
    verify(null, data, key, signature, (err, ok) => resolve(err === null && ok));
  });
}

/**
 * Undefined when the signatures pass; otherwise why the event is dropped. `bytes`, when given, is
 * the event's PDU encoded already (checkValidEvent): what the signatures cover is its reference
 * hash input.
 */
export async function checkSignatures(event: RoomEvent, keyRing: KeyRing, bytes?: PduBytes): Promise<string | undefined> {
  const { pdu, roomVersion: version } = event;
  const signatures = pdu["signatures"];
  // rooms/v5.md: a key is only good for events up to its valid_until_ts.
  const minimumValidUntilTs = version.enforceKeyValidity ? event.originServerTs : 0;
  // The signatures cover the redacted event, so a redacted copy verifies as well as the full one.
  let signed: Buffer;
  try {
    signed = bytes !== undefined && bytes.pdu === pdu ? bytes.essential() : signableBytes(redactEvent(pdu, version), eventJsonOptions(version));
  } catch {
    return "the event cannot be encoded as canonical JSON";
  }
  for (const server of requiredSignatures(pdu, version)) {
    const fromServer = isJsonObject(signatures) ? signatures[server] : undefined;
    if (!isJsonObject(fromServer)) return `no signature from ${server}`;
    // One key after another (a server signs with one key, as a rule): the first bad signature, in
    // key order, drops the event.
    let verified = false;
    for (const keyId of Object.keys(fromServer)) {
      // The policy server's signature is checked with the room's key, not the server's (check 7).
      if (!keyId.startsWith("ed25519:") || keyId === POLICY_SERVER_KEY_ID) continue;
      // "If a signature is from an unknown or expired key, it is skipped."
      const publicKey = await keyRing.getVerifyKey(server, keyId, minimumValidUntilTs);
      if (publicKey === undefined) continue;
      const encoded = fromServer[keyId];
      const signature = typeof encoded === "string" ? decodeBase64(encoded) : undefined;
      const ok = signature !== undefined && (await verifyAsync(signed, publicKey, signature));
      if (!ok) return `bad signature from ${server} with ${keyId}`;
      verified = true;
    }
    if (!verified) return `no signature from a known key of ${server}`;
  }
  return undefined;
}
