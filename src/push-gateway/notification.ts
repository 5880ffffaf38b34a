// What a homeserver's HTTP pusher sends to POST /_matrix/push/v1/notify (push_notifier.yaml), and
// the fields of it every provider's payload carries.
import type { JsonObject, JsonValue } from "../core/json.ts";
import { isJsonObject } from "../core/json.ts";

/** One device to push to (push_notifier.yaml Device). */
export interface Device {
  readonly app_id: string;
  readonly pushkey: string;
  readonly pushkey_ts?: number;
  /** The pusher's data as the client set it: `format`, and provider details (a web push subscription's `endpoint` and `auth`). */
  readonly data?: JsonObject;
  readonly tweaks?: JsonObject;
}

/** push_notifier.yaml Notification. */
export interface Notification {
  readonly event_id?: string;
  readonly room_id?: string;
  readonly type?: string;
  readonly sender?: string;
  readonly sender_display_name?: string;
  readonly room_name?: string;
  readonly room_alias?: string;
  readonly user_is_target?: boolean;
  readonly prio?: "high" | "low";
  readonly content?: JsonObject;
  readonly counts?: { readonly unread?: number; readonly missed_calls?: number };
  readonly devices: readonly Device[];
}

/** The request body's schema (push_notifier.yaml), checked before the handler runs. */
export const NOTIFY_SCHEMA = {
  type: "object",
  required: ["notification"],
  properties: {
    notification: {
      type: "object",
      required: ["devices"],
      properties: {
        event_id: { type: "string" },
        room_id: { type: "string" },
        type: { type: "string" },
        sender: { type: "string" },
        sender_display_name: { type: "string" },
        room_name: { type: "string" },
        room_alias: { type: "string" },
        user_is_target: { type: "boolean" },
        prio: { type: "string", enum: ["high", "low"] },
        content: { type: "object" },
        counts: {
          type: "object",
          properties: { unread: { type: "integer", minimum: 0 }, missed_calls: { type: "integer", minimum: 0 } },
        },
        devices: {
          type: "array",
          // Sygnal's answer to a notification for nobody: 400.
          minItems: 1,
          items: {
            type: "object",
            required: ["app_id", "pushkey"],
            properties: {
              app_id: { type: "string", minLength: 1 },
              pushkey: { type: "string", minLength: 1 },
              pushkey_ts: { type: "integer" },
              data: { type: "object" },
              tweaks: { type: "object" },
            },
          },
        },
      },
    },
  },
} as const;

/** The notification's fields a device is told, by their names in the notification. */
const EVENT_FIELDS = ["room_id", "room_name", "room_alias", "event_id", "sender", "sender_display_name", "user_is_target", "type", "content", "prio"] as const;

/**
 * The notification as a device's payload, as Sygnal lays it out (so that apps written for Sygnal
 * read it): the pusher's `default_payload` first (unless no device is given), then the event's
 * fields that are set, and the counts as `unread` and `missed_calls`.
 */
export function notificationFields(n: Notification, device: Device | undefined): Record<string, JsonValue> {
  const payload: Record<string, JsonValue> = {};
  const defaults = device?.data?.["default_payload"];
  if (isJsonObject(defaults)) Object.assign(payload, defaults);
  for (const field of EVENT_FIELDS) {
    const value = n[field];
    if (value !== undefined && value !== "") payload[field] = value as JsonValue;
  }
  if (n.counts?.unread !== undefined) payload["unread"] = n.counts.unread;
  if (n.counts?.missed_calls !== undefined) payload["missed_calls"] = n.counts.missed_calls;
  return payload;
}

/**
 * What a device's provider did with a push: took it, refused the pushkey for good, or refused this
 * notification only (its payload), which trying again would not change. A passing failure throws.
 */
export type PushOutcome = "delivered" | "rejected" | "dropped";

/** A failure that may pass (the provider down, too busy, no answer in time): the homeserver should try again later. */
export class PushDispatchError extends Error {
  override name = "PushDispatchError";
}

/** An app's provider. */
export interface Pusher {
  push(n: Notification, device: Device): Promise<PushOutcome>;
  close(): Promise<void>;
}
