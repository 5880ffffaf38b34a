// Policy servers (server-server-api#policy-servers, v1.18): a room's `m.room.policy` names a server
// that signs the events it recommends for inclusion, with the key the state event publishes. What
// is pure here: reading the configuration, which events need the signature, checking it and
// adding it. Whether the named server is in the room, and asking it, are the room engine's.
import { decodeBase64 } from "../crypto/base64.ts";
import { parseServerName } from "../identifiers/server-name.ts";
import { isJsonObject } from "../json.ts";
import type { JsonObject } from "../json.ts";
import type { RoomVersion } from "../room-versions/room-versions.ts";
import type { Pdu } from "./room-event.ts";
import { verifyEventSignature } from "./sign.ts";

export const POLICY_EVENT_TYPE = "m.room.policy";
/** server-server-api#validating-policy-server-signatures: "The Key ID ... is *always* `ed25519:policy_server`." */
export const POLICY_SERVER_KEY_ID = "ed25519:policy_server";

/** A room's policy server as its `m.room.policy` names it. */
export interface PolicyServer {
  /** The server name that signs. */
  readonly via: string;
  /** Its Ed25519 public key; undefined when the state event's is not base64 of 32 bytes (nothing then verifies). */
  readonly publicKey: Uint8Array | undefined;
}

/**
 * The policy server an `m.room.policy` content configures, or undefined when it configures none
 * (server-server-api#determining-if-a-policy-server-is-enabled-in-a-room: "a string value for
 * `via`" and "an object value for `public_keys` containing at least a string value for `ed25519`").
 * A `via` that is no server name can have no joined user, so it configures none either.
 */
export function policyServerOf(content: JsonObject): PolicyServer | undefined {
  const via = content["via"];
  const keys = content["public_keys"];
  if (typeof via !== "string" || parseServerName(via) === undefined || !isJsonObject(keys)) return undefined;
  const ed25519 = keys["ed25519"];
  if (typeof ed25519 !== "string") return undefined;
  const publicKey = decodeBase64(ed25519);
  return { via, publicKey: publicKey?.byteLength === 32 ? publicKey : undefined };
}

/**
 * Whether an event is one the policy server signs: every event but the `m.room.policy` state event
 * with an empty state key (room_policy.yaml: "This endpoint MUST NOT be called for events which have
 * a type of `m.room.policy` and an empty string `state_key`").
 */
export function needsPolicySignature(type: unknown, stateKey: unknown): boolean {
  return !(type === POLICY_EVENT_TYPE && stateKey === "");
}

/** Whether the event carries a valid signature of the policy server (over its redacted form, as every event signature). */
export function hasPolicySignature(pdu: Pdu, version: RoomVersion, policy: PolicyServer): boolean {
  if (policy.publicKey === undefined) return false;
  try {
    return verifyEventSignature(pdu, version, policy.via, POLICY_SERVER_KEY_ID, policy.publicKey);
  } catch {
    return false;
  }
}

/**
 * The event with the signature the policy server answered (room_policy.yaml: `{via: {"ed25519:policy_server": ...}}`)
 * added, or undefined when the answer has none. Only that one signature is taken, and the event's
 * own are kept: the policy server may be the event's origin too, and its answer need not repeat
 * the origin's signature (v1.19 clarification).
 */
export function withPolicySignature(pdu: Pdu, via: string, answer: JsonObject): Pdu | undefined {
  const fromVia = answer[via];
  const signature = isJsonObject(fromVia) ? fromVia[POLICY_SERVER_KEY_ID] : undefined;
  if (typeof signature !== "string") return undefined;
  const signatures = isJsonObject(pdu["signatures"]) ? pdu["signatures"] : {};
  const existing = isJsonObject(signatures[via]) ? signatures[via] : {};
  return { ...pdu, signatures: { ...signatures, [via]: { ...existing, [POLICY_SERVER_KEY_ID]: signature } } };
}
