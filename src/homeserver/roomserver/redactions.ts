// When a redaction takes effect. Room versions 1-2 authorise m.room.redaction in the auth rules
// (v1-auth-rules.md rule 11); from v3 the rules always allow it, and it applies once both events
// are seen and valid, if "the power level of the redaction event's sender is greater than or equal
// to the redact level" or "the domain of the redaction event's sender matches that of the
// original event's sender" (rooms/fragments/v3-handling-redactions.md). Until then the redaction is
// not sent to clients.
import { actionLevel, powerLevelOf } from "../../core/auth/index.ts";
import type { AuthStateLookup } from "../../core/auth/index.ts";
import type { RoomEvent } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import type { Batch } from "./batch.ts";
import { authEventIdsOf, authEventsLookup } from "./checks/auth-events.ts";
import type { KnownEvent } from "./known-event.ts";
import { redactedRoomEvent } from "./known-event.ts";

/**
 * Whether `redaction` applies to `target`. `redactionAuth` looks up the state the redaction was
 * authorised by (its auth events), for the sender's power level.
 */
export function redactionApplies(redaction: RoomEvent, target: KnownEvent, redactionAuth: AuthStateLookup): boolean {
  // "If both events are valid": a rejected target is not, nor one from another room.
  if (target.rejectedReason !== undefined || target.event.roomId !== redaction.roomId) return false;
  const version = redaction.roomVersion;
  // Room versions 1-2: the auth rules already decided.
  if (version.redactionAuthByEventIdDomain) return true;
  if (powerLevelOf(redaction.sender, redactionAuth, version) >= actionLevel("redact", redactionAuth, version)) return true;
  const domain = serverNameOf(redaction.sender);
  return domain !== undefined && domain === serverNameOf(target.event.sender);
}

export interface WaitingRedactions {
  /** The redactions that apply to the event, oldest first. */
  readonly applying: KnownEvent[];
  /** Every redaction that was waiting for it. */
  readonly settled: string[];
}

export async function redactionsWaitingFor(batch: Batch, target: KnownEvent): Promise<WaitingRedactions> {
  const waiting = batch.pendingRedactions.get(target.event.eventId);
  if (waiting === undefined || waiting.length === 0) return { applying: [], settled: [] };
  const redactions = await batch.getEvents(waiting);
  const applying: KnownEvent[] = [];
  for (const id of waiting) {
    const redaction = redactions.get(id);
    if (redaction === undefined) continue;
    const auth = await batch.getEvents(authEventIdsOf(redaction.event));
    if (redactionApplies(redaction.event, target, authEventsLookup(redaction.event, auth))) applying.push(redaction);
  }
  return { applying, settled: [...waiting] };
}

export function applyRedaction(batch: Batch, redaction: RoomEvent, target: KnownEvent): void {
  const targetId = target.event.eventId;
  batch.applyRedactions.push({ redactionId: redaction.eventId, targetId });
  if (target.redactedBy === undefined) {
    batch.events.set(targetId, { ...target, event: redactedRoomEvent(target.event), redactedBy: redaction.eventId });
  }
  batch.outputs.push(() => ({ kind: "redaction_applied", roomId: redaction.roomId, redactionEventId: redaction.eventId, redactedEventId: targetId }));
}

/** Redactions that waited for `target`: applied (and shown in the timeline now) or dropped. */
export function settleWaitingRedactions(batch: Batch, target: KnownEvent, waiting: WaitingRedactions): void {
  if (waiting.settled.length === 0) return;
  const targetId = target.event.eventId;
  for (const redaction of waiting.applying) {
    const id = redaction.event.eventId;
    batch.applyRedactions.push({ redactionId: id, targetId });
    // The redaction was held back from clients until now (rooms/fragments/v3-handling-redactions.md).
    if (!redaction.outlier && !redaction.backfilled && !redaction.softFailed && redaction.streamOrdering === undefined) {
      batch.stream.push(id);
      // In the batch's events so that its cache entry gets its stream position on commit.
      batch.events.set(id, redaction);
      batch.outputs.push((positions) => {
        const streamOrdering = positions.get(id);
        if (streamOrdering === undefined) return undefined;
        return {
          kind: "new_room_event",
          roomId: redaction.event.roomId,
          event: redaction.event,
          streamOrdering,
          local: false,
          stateDelta: new Map(),
          forwardExtremities: [...batch.extremities.keys()],
        };
      });
    }
    batch.outputs.push(() => ({ kind: "redaction_applied", roomId: redaction.event.roomId, redactionEventId: id, redactedEventId: targetId }));
  }
  batch.settledRedactions.push(...waiting.settled);
  batch.pendingRedactions.delete(targetId);
}
