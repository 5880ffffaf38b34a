// Apple Push Notification service: HTTP/2 to Apple, token-based authentication (an ES256 JWT made
// with the team's .p8 key, renewed well within the hour Apple accepts one), a POST per device to
// /3/device/{token}. Facts from Apple's "Sending notification requests to APNs" and Sygnal's use.
import { connect, constants } from "node:http2";
import type { ClientHttp2Session } from "node:http2";
import { createPrivateKey, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { JsonObject, JsonValue } from "../core/json.ts";
import { isJsonObject } from "../core/json.ts";
import type { ApnsAppConfig } from "./config.ts";
import { PushDispatchError, notificationFields } from "./notification.ts";
import type { Device, Notification, PushOutcome, Pusher } from "./notification.ts";

const APPLE_HOSTS = { production: "https://api.push.apple.com", sandbox: "https://api.sandbox.push.apple.com" } as const;
/** Apple refuses a token older than an hour, and one renewed more often than every 20 minutes. */
const TOKEN_LIFETIME_MS = 50 * 60 * 1000;
/** Apple's limit for a notification's payload. */
const MAX_PAYLOAD_BYTES = 4096;
const REQUEST_TIMEOUT_MS = 10_000;

/** What Apple answers for a token that will never take a push again (a 400's or 410's `reason`). */
const DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set(["BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "TopicDisallowed"]);

export interface ApnsOptions {
  /** Extra CA certificates trusted for the APNs host (a proxy's; tests). */
  readonly ca?: string | Buffer;
  /** How long a push may wait for Apple's answer (10 s unless told). */
  readonly timeoutMs?: number;
}

export class ApnsPusher implements Pusher {
  readonly #config: ApnsAppConfig;
  readonly #key: KeyObject;
  readonly #origin: string;
  readonly #ca: string | Buffer | undefined;
  readonly #timeoutMs: number;
  #session: ClientHttp2Session | undefined;
  #token: { value: string; madeAt: number } | undefined;

  private constructor(config: ApnsAppConfig, key: KeyObject, options: ApnsOptions) {
    this.#config = config;
    this.#key = key;
    this.#origin = config.apiUrl ?? APPLE_HOSTS[config.platform];
    this.#ca = options.ca;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  static async create(config: ApnsAppConfig, options: ApnsOptions = {}): Promise<ApnsPusher> {
    const key = createPrivateKey(await readFile(config.keyFile));
    if (key.asymmetricKeyType !== "ec") throw new Error(`${config.keyFile} is not an APNs (EC P-256) key`);
    return new ApnsPusher(config, key, options);
  }

  async push(n: Notification, device: Device): Promise<PushOutcome> {
    const token = deviceToken(device.pushkey);
    if (token === undefined) return "rejected";
    const { payload, pushType, priority } = apnsPayload(n, device);
    let answer = await this.#post(token, payload, pushType, priority);
    // A token Apple finds too old (a clock gone astray): made again, once.
    if (answer.status === 403 && answer.reason === "ExpiredProviderToken") {
      this.#token = undefined;
      answer = await this.#post(token, payload, pushType, priority);
    }
    if (answer.status === 200) return "delivered";
    if ((answer.status === 400 || answer.status === 410) && DEAD_TOKEN_REASONS.has(answer.reason)) return "rejected";
    // Another 400 or a 413 is about this notification (its payload, its headers): sending it again would not help.
    if (answer.status === 400 || answer.status === 413) return "dropped";
    throw new PushDispatchError(`APNs answered ${answer.status} ${answer.reason}`);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined && !session.closed) await new Promise<void>((resolve) => session.close(() => resolve()));
  }

  #post(token: string, payload: string, pushType: string, priority: number): Promise<{ status: number; reason: string }> {
    const session = this.#connection();
    return new Promise((resolve, reject) => {
      const request = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: `/3/device/${token}`,
        authorization: `bearer ${this.#providerToken()}`,
        "apns-topic": this.#config.topic,
        "apns-push-type": pushType,
        "apns-priority": String(priority),
        "content-type": "application/json",
      });
      request.setTimeout(this.#timeoutMs, () => request.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      const chunks: Buffer[] = [];
      request.on("response", (headers) => {
        status = Number(headers[constants.HTTP2_HEADER_STATUS] ?? 0);
      });
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (status === 0) return;
        let reason = "";
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
          if (isJsonObject(body) && typeof body["reason"] === "string") reason = body["reason"];
        } catch {
          // a 200 has no body
        }
        resolve({ status, reason });
      });
      request.on("error", (err) => reject(new PushDispatchError(`APNs could not be reached: ${err.message}`)));
      // A stream cancelled (its time is up) or reset ends without an answer; a settled promise ignores this.
      request.on("close", () => reject(new PushDispatchError("APNs gave no answer in time")));
      request.end(payload);
    });
  }

  /** One HTTP/2 connection for every push, made again when it closed or failed. */
  #connection(): ClientHttp2Session {
    const existing = this.#session;
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = connect(this.#origin, this.#ca === undefined ? {} : { ca: this.#ca });
    session.on("error", () => {
      if (this.#session === session) this.#session = undefined;
    });
    session.on("close", () => {
      if (this.#session === session) this.#session = undefined;
    });
    // An idle connection does not keep the process alive.
    session.unref();
    this.#session = session;
    return session;
  }

  /** The provider token: `{alg: ES256, kid}.{iss: team ID, iat}`, signed with the .p8 key. */
  #providerToken(): string {
    const now = Date.now();
    if (this.#token !== undefined && now - this.#token.madeAt < TOKEN_LIFETIME_MS) return this.#token.value;
    const header = base64url({ alg: "ES256", kid: this.#config.keyId });
    const claims = base64url({ iss: this.#config.teamId, iat: Math.floor(now / 1000) });
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), { key: this.#key, dsaEncoding: "ieee-p1363" });
    const value = `${header}.${claims}.${signature.toString("base64url")}`;
    this.#token = { value, madeAt: now };
    return value;
  }
}

function base64url(value: JsonObject): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/**
 * The device token in hex, as APNs takes it. iOS apps register the token's bytes in base64 as
 * their pushkey (Sygnal decodes it the same way); a hex token is taken as it is.
 */
export function deviceToken(pushkey: string): string | undefined {
  if (/^[0-9a-fA-F]{64,200}$/.test(pushkey)) return pushkey.toLowerCase();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(pushkey)) return undefined;
  const bytes = Buffer.from(pushkey, /[-_]/.test(pushkey) ? "base64url" : "base64");
  return bytes.length >= 32 ? bytes.toString("hex") : undefined;
}

/**
 * The notification as APNs takes it: Sygnal's fields (and `unread_count`, the name iOS apps read),
 * the pusher's `default_payload.aps` completed with the badge, and a plain alert for a notification
 * that carries its event (a `format: event_id_only` pusher's app fills its own in). Without alert,
 * badge or sound it is a background push (counts only). Too large, it loses the event's content.
 */
export function apnsPayload(n: Notification, device: Device): { payload: string; pushType: "alert" | "background"; priority: number } {
  const fields = notificationFields(n, device);
  const aps: Record<string, JsonValue> = isJsonObject(fields["aps"]) ? { ...fields["aps"] } : {};
  if (n.counts?.unread !== undefined) {
    aps["badge"] = n.counts.unread;
    fields["unread_count"] = n.counts.unread;
  }
  const sound = device.tweaks?.["sound"];
  if (typeof sound === "string" && aps["sound"] === undefined) aps["sound"] = sound;
  if (aps["alert"] === undefined && n.event_id !== undefined && device.data?.["format"] !== "event_id_only") {
    const body = typeof n.content?.["body"] === "string" ? n.content["body"] : "";
    aps["alert"] = { title: n.room_name ?? n.sender_display_name ?? n.sender ?? "", body };
  }
  const visible = aps["alert"] !== undefined || aps["badge"] !== undefined || aps["sound"] !== undefined;
  if (!visible) aps["content-available"] = 1;
  fields["aps"] = aps;
  let payload = JSON.stringify(fields);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    delete fields["content"];
    const alert = aps["alert"];
    if (isJsonObject(alert) && typeof alert["body"] === "string") alert["body"] = alert["body"].slice(0, 1000);
    payload = JSON.stringify(fields);
  }
  // apns-priority: 10 now, 5 when the device may wait (a low-priority notification, a badge or background update).
  const alerting = aps["alert"] !== undefined || aps["sound"] !== undefined;
  const priority = alerting && n.prio !== "low" ? 10 : 5;
  return { payload, pushType: visible ? "alert" : "background", priority };
}
