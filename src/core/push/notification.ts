// The body of POST /_matrix/push/v1/notify (push-gateway-api, push_notifier.yaml) for one pusher.
import type { JsonObject, JsonValue } from "../json.ts";
import { EVENT_ID_ONLY, type Pusher } from "./pusher.ts";

/** What a notification says of its event, and of the room and sender as the user would see them. */
export interface NotifiedEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  readonly sender: string;
  readonly senderDisplayName: string | undefined;
  readonly roomName: string | undefined;
  readonly roomAlias: string | undefined;
  /** The event's state_key, for user_is_target. */
  readonly stateKey: string | undefined;
  readonly content: JsonObject;
}

/** push_notifier.yaml Counts: unacknowledged communications of the user. */
export interface NotificationCounts {
  readonly unread: number;
  readonly missedCalls?: number;
}

/**
 * push_notifier.yaml `prio`: high unless the notification is one a device may deliver lazily. Our
 * choice: a notification with a sound or a highlight is high, and so is an encrypted event (what
 * it says is not known here); others are low.
 */
export function notificationPriority(type: string, tweaks: JsonObject): "high" | "low" {
  const sound = tweaks["sound"];
  return type === "m.room.encrypted" || tweaks["highlight"] === true || (sound !== undefined && sound !== null && sound !== false) ? "high" : "low";
}

/** push_notifier.yaml Counts: "Counts whose value is zero should be omitted." */
function countsJson(counts: NotificationCounts): JsonObject {
  const json: JsonObject = {};
  if (counts.unread > 0) json["unread"] = counts.unread;
  if (counts.missedCalls !== undefined && counts.missedCalls > 0) json["missed_calls"] = counts.missedCalls;
  return json;
}

/**
 * push_notifier.yaml Device: the pusher's app_id and pushkey, when the pushkey was set (in seconds),
 * and its data "minus the url key" (pusher.yaml: "forward the entire content including format and
 * any custom keys but excluding url").
 */
function deviceJson(pusher: Pusher, pushkeyTs: number, tweaks: JsonObject): JsonObject {
  const data: JsonObject = { ...pusher.data };
  delete data["url"];
  return { app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pushkeyTs / 1000), data, tweaks };
}

/**
 * The request to send `pusher`'s gateway about `event` for `userId`. push-gateway-api#homeserver-
 * behaviour: all the event's fields, but with `format: event_id_only` only event_id, room_id,
 * counts and devices.
 */
export function notifyRequest(
  event: NotifiedEvent,
  userId: string,
  pusher: Pusher,
  pushkeyTs: number,
  tweaks: JsonObject,
  counts: NotificationCounts,
): JsonObject {
  const notification: Record<string, JsonValue> = { event_id: event.eventId, room_id: event.roomId };
  if (pusher.data["format"] !== EVENT_ID_ONLY) {
    notification["type"] = event.type;
    notification["sender"] = event.sender;
    if (event.senderDisplayName !== undefined) notification["sender_display_name"] = event.senderDisplayName;
    if (event.roomName !== undefined) notification["room_name"] = event.roomName;
    if (event.roomAlias !== undefined) notification["room_alias"] = event.roomAlias;
    // "true if the user receiving the notification is the subject of a member event"
    if (event.type === "m.room.member") notification["user_is_target"] = event.stateKey === userId;
    notification["prio"] = notificationPriority(event.type, tweaks);
    notification["content"] = event.content;
  }
  notification["counts"] = countsJson(counts);
  notification["devices"] = [deviceJson(pusher, pushkeyTs, tweaks)];
  return { notification };
}
