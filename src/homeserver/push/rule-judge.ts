// A user's push rules applied to the events of one room (modules/push.md#push-rules), with what the
// conditions read of the room besides the event (its member count, power levels, the user's display
// name) read once: for GET /notifications, and for the unread counts of /sync
// (client-server-api#receiving-notifications: counts "calculated by the server from push rules").
import type { RoomEvent } from "../../core/events/room-event.ts";
import { PushEvent, evaluatePushRules, usesDisplayName, type PushOutcome } from "../../core/push/evaluate.ts";
import type { Ruleset } from "../../core/push/ruleset.ts";
import type { RoomFacts } from "./room-facts.ts";

/** The outcome of the user's rules for an event of the room; undefined when no rule matches. */
export type RuleJudge = (event: RoomEvent) => Promise<PushOutcome | undefined>;

export async function ruleJudge(userId: string, ruleset: Ruleset, facts: RoomFacts, memberCount: number): Promise<RuleJudge> {
  const [notificationPowerLevel, displayName] = await Promise.all([facts.notificationLevels(), usesDisplayName(ruleset) ? facts.displayName(userId) : undefined]);
  const senderLevels = new Map<string, Promise<number>>();
  return async (event) => {
    let senderLevel = senderLevels.get(event.sender);
    if (senderLevel === undefined) senderLevels.set(event.sender, (senderLevel = facts.powerLevelOf(event.sender)));
    return evaluatePushRules(ruleset, new PushEvent({ ...event.pdu, event_id: event.eventId, room_id: event.roomId }), {
      userId,
      roomMemberCount: memberCount,
      displayName,
      senderPowerLevel: await senderLevel,
      notificationPowerLevel,
    });
  };
}
