// Whether a room is using a policy server, and asking it to sign (server-server-api#policy-servers).
// The room engine checks the signature (process-event.ts, after soft failure); the asking happens
// outside the room's queue, before an event enters it, so that a slow policy server holds up the
// event waiting for it and nothing else of the room.
import { MatrixError } from "../../core/errors.ts";
import { POLICY_EVENT_TYPE, hasPolicySignature, needsPolicySignature, policyServerOf, withPolicySignature } from "../../core/events/policy-server.ts";
import type { PolicyServer } from "../../core/events/policy-server.ts";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { Pdu } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/server-name-of.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { StateSnapshot } from "../../storage/stores/state-snapshot.ts";
import type { KnownEvent } from "./known-event.ts";

/** Asks a policy server to sign an event (room_policy.yaml): its answer, or a MatrixError for its refusal or failure. */
export interface PolicyServerClient {
  sign(via: string, pdu: Pdu): Promise<JsonObject>;
}

const POLICY_KEY = stateMapKey(POLICY_EVENT_TYPE, "");
const MEMBER_PREFIX = stateMapKey("m.room.member", "");

/** Each state's answer, found once: a message leaves the state as it was, the same snapshot. */
const answers = new WeakMap<StateSnapshot, Promise<PolicyServer | undefined>>();

/**
 * The policy server the room uses in this (current) state, or undefined
 * (server-server-api#determining-if-a-policy-server-is-enabled-in-a-room): a valid `m.room.policy`
 * with an empty state key, whose `via` has at least one joined user in the state. A `via` naming
 * this server counts as none: Weft is no policy server, and asking itself could only fail (Synapse
 * decides the same for itself).
 */
export function policyServerIn(
  state: StateSnapshot,
  serverName: string,
  load: (ids: readonly string[]) => Promise<ReadonlyMap<string, KnownEvent>>,
): Promise<PolicyServer | undefined> {
  const policyId = state.get(POLICY_KEY);
  // Most rooms have none: no promise kept for them.
  if (policyId === undefined) return Promise.resolve(undefined);
  let answer = answers.get(state);
  if (answer === undefined) {
    answer = findPolicyServer(state, policyId, serverName, load);
    answers.set(state, answer);
    // A failed read is not an answer: asked again next time.
    answer.catch(() => answers.delete(state));
  }
  return answer;
}

async function findPolicyServer(
  state: StateSnapshot,
  policyId: string,
  serverName: string,
  load: (ids: readonly string[]) => Promise<ReadonlyMap<string, KnownEvent>>,
): Promise<PolicyServer | undefined> {
  const policyEvent = (await load([policyId])).get(policyId);
  if (policyEvent === undefined) return undefined;
  const policy = policyServerOf(policyEvent.event.content);
  if (policy === undefined || policy.via === serverName) return undefined;
  const suffix = `:${policy.via}`;
  const memberIds: string[] = [];
  for (const [key, eventId] of state.toMap()) {
    if (key.startsWith(MEMBER_PREFIX) && key.endsWith(suffix) && serverNameOf(key.slice(MEMBER_PREFIX.length)) === policy.via) memberIds.push(eventId);
  }
  if (memberIds.length === 0) return undefined;
  for (const member of (await load(memberIds)).values()) {
    if (member.event.content["membership"] === "join") return policy;
  }
  return undefined;
}

/**
 * Whether check 7 (process-event.ts) looks at an event, and so whether a received one is worth
 * asking the policy server about: every event but the `m.room.policy` state event, built here
 * through the client API (`builtHere`) or sent by another server. Our own events received back from
 * a resident server (a join through make_join/send_join) took their way through that server already.
 */
export function policyChecks(type: unknown, stateKey: unknown, sender: unknown, serverName: string, builtHere: boolean): boolean {
  if (!needsPolicySignature(type, stateKey)) return false;
  return builtHere || (typeof sender === "string" && serverNameOf(sender) !== serverName);
}

/**
 * The event signed by the policy server: asked with the client, its answer's signature added and
 * checked against the room's key. Throws MatrixError: the policy server's refusal as it gave it
 * (server-server-api#validating-policy-server-signatures: "that error SHOULD be provided to the
 * client verbatim"), or 502 when it could not be asked or answered no valid signature.
 */
export async function askPolicyServer(client: PolicyServerClient, policy: PolicyServer, pdu: Pdu, version: RoomVersion): Promise<Pdu> {
  const answer = await client.sign(policy.via, pdu);
  const signed = withPolicySignature(pdu, policy.via, answer);
  if (signed === undefined || !hasPolicySignature(signed, version, policy)) {
    throw new MatrixError("M_UNKNOWN", `the room's policy server ${policy.via} answered no valid signature for the event`, 502);
  }
  return signed;
}
