// Push rules applied to new events (modules/push.md#server-behaviour: "When receiving a new event
// homeservers process push rules for each of the local users in the room (excluding the sender)"),
// for the users who have a pusher, and the notifications their rules ask for handed to the
// dispatcher.
//
// A consumer of the room engine's outputs that never holds up the send path: the listener only
// notes the event (nothing at all when no user has a pusher, or when the room is known to have no
// member with one), and the work is done later, in batches, off the request. What waits is bounded:
// past MAX_QUEUED events the oldest are dropped (and said so in the log).
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { PushEvent, evaluatePushRules, usesDisplayName, type PushEnvironment } from "../../core/push/evaluate.ts";
import type { NotifiedEvent } from "../../core/push/notification.ts";
import type { StoredPusher } from "../../storage/stores/pushers.ts";
import type { OutputListener, RoomserverOutput } from "../roomserver/index.ts";
import { BackgroundQueue } from "../background-queue.ts";
import type { PendingNotification } from "./dispatcher.ts";
import type { PushRecipients } from "./recipients.ts";
import type { RoomFacts } from "./room-facts.ts";
import type { RulesetCache } from "./ruleset-cache.ts";

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

const MEMBER_PREFIX = "m.room.member\u0000";
/** Events waiting to be evaluated, at most. */
const MAX_QUEUED = 10_000;
/** Events evaluated between two turns of the event loop. */
const BATCH = 64;

export interface EventPusherDeps {
  readonly source: { subscribe(listener: OutputListener): () => void };
  readonly pushers: {
    readonly isEmpty: boolean;
    hasPushers(userId: string): boolean;
    list(userId: string): readonly StoredPusher[];
  };
  readonly recipients: PushRecipients;
  readonly rulesets: RulesetCache;
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  readonly roomFacts: (roomId: string) => RoomFacts;
  readonly enqueue: (notification: PendingNotification) => void;
  readonly onError?: (error: unknown, what: string) => void;
  readonly onDropped?: (count: number) => void;
}

function changesMembers(output: NewRoomEvent): boolean {
  if (output.event.type === "m.room.member") return true;
  for (const key of output.stateDelta.keys()) if (key.startsWith(MEMBER_PREFIX)) return true;
  return false;
}

/** The event as push rule keys address it: the PDU's fields, with its room and event IDs. */
function ruleJson(event: RoomEvent): JsonObject {
  return { ...event.pdu, event_id: event.eventId, room_id: event.roomId };
}

export class EventPusher {
  readonly #deps: EventPusherDeps;
  readonly #queue: BackgroundQueue<NewRoomEvent>;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(deps: EventPusherDeps) {
    this.#deps = deps;
    this.#queue = new BackgroundQueue({
      max: MAX_QUEUED,
      batch: BATCH,
      work: (output) => this.#evaluate(output),
      onError: (error) => deps.onError?.(error, "evaluating push rules"),
      ...(deps.onDropped === undefined ? {} : { onDropped: deps.onDropped }),
    });
  }

  start(): void {
    this.#unsubscribe = this.#deps.source.subscribe((output) => this.#receive(output));
  }

  /** Stops listening and waits for the batch being evaluated; what waits is dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    await this.#queue.close();
  }

  /** Resolves once every event heard so far is evaluated (tests). */
  async idle(): Promise<void> {
    await this.#queue.idle();
  }

  #receive(output: RoomserverOutput): void {
    if (output.kind !== "new_room_event" || this.#closed) return;
    const membersChanged = changesMembers(output);
    if (membersChanged) this.#deps.recipients.membershipChanged(output.roomId);
    // The send path's whole cost when nobody here has a pusher, or nobody in this room has one.
    if (this.#deps.pushers.isEmpty) return;
    if (!membersChanged && this.#deps.recipients.knownEmpty(output.roomId)) return;
    this.#queue.push(output);
  }

  async #evaluate(output: NewRoomEvent): Promise<void> {
    const { event, roomId } = output;
    const { users, memberCount } = await this.#deps.recipients.of(roomId, output.streamOrdering);
    // "Homeservers MUST NOT notify the Push Gateway for events that the user has sent themselves."
    const candidates = users.filter((userId) => userId !== event.sender);
    // An invite is pushed to its invitee, who is not a member yet (.m.rule.invite_for_me).
    const invitee = event.type === "m.room.member" && event.content["membership"] === "invite" ? event.stateKey : undefined;
    if (invitee !== undefined && invitee !== event.sender && this.#deps.pushers.hasPushers(invitee) && !candidates.includes(invitee)) candidates.push(invitee);
    if (candidates.length === 0) return;

    const facts = this.#deps.roomFacts(roomId);
    const [senderPowerLevel, notificationPowerLevel] = await Promise.all([facts.powerLevelOf(event.sender), facts.notificationLevels()]);
    const pushEvent = new PushEvent(ruleJson(event));
    let notified: Promise<NotifiedEvent> | undefined;
    for (const userId of candidates) {
      // Events of users they ignore reach nobody (modules/ignore_users.md), so they notify nobody.
      if ((await this.#deps.ignoredUsers(userId)).has(event.sender)) continue;
      const ruleset = await this.#deps.rulesets.of(userId);
      const env: PushEnvironment = {
        userId,
        roomMemberCount: memberCount,
        displayName: usesDisplayName(ruleset) ? await facts.displayName(userId) : undefined,
        senderPowerLevel,
        notificationPowerLevel,
      };
      const outcome = evaluatePushRules(ruleset, pushEvent, env);
      if (outcome === undefined || !outcome.notify) continue;
      notified ??= notifiedEvent(event, facts);
      const about = await notified;
      for (const pusher of this.#deps.pushers.list(userId)) {
        this.#deps.enqueue({ key: { userId, appId: pusher.appId, pushkey: pusher.pushkey }, event: about, streamOrdering: output.streamOrdering, tweaks: outcome.tweaks });
      }
    }
  }
}

/** What a notification says of the event, the room and the sender (push_notifier.yaml). */
async function notifiedEvent(event: RoomEvent, facts: RoomFacts): Promise<NotifiedEvent> {
  const [senderDisplayName, roomName, roomAlias] = await Promise.all([facts.displayName(event.sender), facts.roomName(), facts.roomAlias()]);
  return {
    eventId: event.eventId,
    roomId: event.roomId,
    type: event.type,
    sender: event.sender,
    senderDisplayName,
    roomName,
    roomAlias,
    stateKey: event.stateKey,
    content: event.content,
  };
}
