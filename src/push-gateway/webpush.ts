// Web Push (RFC 8030), for browsers: the payload encrypted to the subscription's keys (RFC 8291,
// aes128gcm) and the request signed with the gateway's VAPID key (RFC 8292), both by the web-push
// library; the POST to the subscription's endpoint is ours. As Sygnal has it, the pushkey is the
// subscription's `p256dh` key, and the pusher's data holds its `endpoint` and `auth` secret.
import { createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { request } from "undici";
import webpush from "web-push";
import type { WebPushAppConfig } from "./config.ts";
import { PushDispatchError, notificationFields } from "./notification.ts";
import type { Device, Notification, PushOutcome, Pusher } from "./notification.ts";

const REQUEST_TIMEOUT_MS = 10_000;

export class WebPushPusher implements Pusher {
  readonly #config: WebPushAppConfig;
  readonly #vapid: { subject: string; publicKey: string; privateKey: string };

  private constructor(config: WebPushAppConfig, vapid: { publicKey: string; privateKey: string }) {
    this.#config = config;
    this.#vapid = { subject: `mailto:${config.vapidContactEmail}`, ...vapid };
  }

  static async create(config: WebPushAppConfig): Promise<WebPushPusher> {
    return new WebPushPusher(config, vapidKeysFromPem(await readFile(config.vapidPrivateKey, "utf8"), config.vapidPrivateKey));
  }

  async push(n: Notification, device: Device): Promise<PushOutcome> {
    const endpoint = device.data?.["endpoint"];
    const auth = device.data?.["auth"];
    if (typeof endpoint !== "string" || typeof auth !== "string" || !/^https?:\/\//.test(endpoint)) return "rejected";
    let details;
    try {
      details = webpush.generateRequestDetails({ endpoint, keys: { p256dh: device.pushkey, auth } }, JSON.stringify(notificationFields(n, device)), {
        vapidDetails: this.#vapid,
        TTL: this.#config.ttl,
        urgency: n.prio === "low" ? "low" : "high",
        contentEncoding: "aes128gcm",
      });
    } catch {
      // Keys that are not a P-256 point and a 16-byte secret: this subscription can never be pushed to.
      return "rejected";
    }
    let status: number;
    try {
      const response = await request(details.endpoint, {
        method: "POST",
        headers: details.headers,
        body: details.body ?? undefined,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      await response.body.dump();
      status = response.statusCode;
    } catch (err) {
      throw new PushDispatchError(`the push service at ${new URL(endpoint).host} could not be reached: ${(err as Error).message}`);
    }
    if (status >= 200 && status < 300) return "delivered";
    // RFC 8030 §7.3: 404 and 410 say the subscription is gone. Sygnal takes any 4xx as final, as does this,
    // but for 429 (too many: later) and 413 (this payload only).
    if (status === 429) throw new PushDispatchError(`the push service at ${new URL(endpoint).host} asks to slow down`);
    if (status === 413) return "dropped";
    if (status >= 400 && status < 500) return "rejected";
    throw new PushDispatchError(`the push service at ${new URL(endpoint).host} answered ${status}`);
  }

  async close(): Promise<void> {
    // Requests go through undici's global pool, which keeps no process alive.
  }
}

/** The VAPID key pair as web-push takes it (URL-safe base64 of the raw P-256 keys), from a PEM private key. */
export function vapidKeysFromPem(pem: string, path: string): { publicKey: string; privateKey: string } {
  let jwk;
  try {
    const key = createPrivateKey(pem);
    jwk = key.export({ format: "jwk" });
    if (jwk.crv !== "P-256" || jwk.d === undefined || jwk.x === undefined || jwk.y === undefined) throw new Error("not a P-256 key");
  } catch (err) {
    throw new Error(`${path} is not a VAPID (EC P-256) private key: ${(err as Error).message}`, { cause: err });
  }
  const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]).toString("base64url");
  return { publicKey, privateKey: jwk.d };
}
