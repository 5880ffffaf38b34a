// Web Push delivery against a push service stand-in: the payload encrypted to the subscription
// (RFC 8291, read back here with the browser's keys), the VAPID signature (RFC 8292), and what each
// answer becomes.
import assert from "node:assert/strict";
import { verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { WebPushAppConfig } from "../../src/push-gateway/config.ts";
import type { Device, Notification } from "../../src/push-gateway/notification.ts";
import { PushDispatchError } from "../../src/push-gateway/notification.ts";
import { WebPushPusher, vapidKeysFromPem } from "../../src/push-gateway/webpush.ts";
import { jwtParts, providerKeys, type ProviderKeys } from "./keys.ts";
import { startHttpProvider, webPushSubscriber, type ProviderStub } from "./providers.ts";

const message: Notification = {
  event_id: "$e1",
  room_id: "!r:example.org",
  sender: "@alice:example.org",
  content: { msgtype: "m.text", body: "hello" },
  counts: { unread: 4 },
  devices: [],
};

describe("WebPushPusher against a push service stand-in", () => {
  let keys: ProviderKeys;
  let service: ProviderStub;
  let pusher: WebPushPusher;
  const browser = webPushSubscriber();
  let device: Device;

  before(async () => {
    keys = await providerKeys();
    service = await startHttpProvider(() => ({ status: 201 }));
    const config: WebPushAppConfig = { type: "webpush", vapidPrivateKey: keys.vapidKeyFile, vapidContactEmail: "admin@example.org", ttl: 900 };
    pusher = await WebPushPusher.create(config);
    device = { app_id: "org.example.web", pushkey: browser.p256dh, data: { endpoint: `${service.url}/push/abc`, auth: browser.auth, default_payload: { session: "s1" } } };
  });
  after(async () => {
    await pusher.close();
    await service.close();
    await keys.cleanup();
  });

  it("POSTs the notification encrypted to the subscription, signed with the VAPID key", async () => {
    assert.equal(await pusher.push(message, device), "delivered");
    const request = service.received.at(-1);
    assert.ok(request !== undefined);
    assert.equal(request.path, "/push/abc");
    assert.equal(request.headers["content-encoding"], "aes128gcm");
    assert.equal(request.headers["ttl"], "900");
    assert.equal(request.headers["urgency"], "high");
    assert.deepEqual(JSON.parse(browser.decrypt(request.body)), {
      session: "s1",
      room_id: "!r:example.org",
      event_id: "$e1",
      sender: "@alice:example.org",
      content: { msgtype: "m.text", body: "hello" },
      unread: 4,
    });
    // RFC 8292: `vapid t=<JWT signed with ES256>, k=<the public key>`, the JWT's audience the push service's origin.
    const match = /^vapid t=([^,]+), k=(.+)$/.exec(String(request.headers["authorization"]));
    assert.ok(match !== null, String(request.headers["authorization"]));
    const jwk = keys.vapidPublicKey.export({ format: "jwk" });
    const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, "base64url"), Buffer.from(jwk.y as string, "base64url")]);
    assert.equal(match[2], raw.toString("base64url"));
    const { claims } = jwtParts(match[1] as string, (signed, signature) => verify("sha256", signed, { key: keys.vapidPublicKey, dsaEncoding: "ieee-p1363" }, signature));
    assert.equal(claims["aud"], service.url);
    assert.equal(claims["sub"], "mailto:admin@example.org");
  });

  it("asks for low urgency for a low-priority notification", async () => {
    await pusher.push({ ...message, prio: "low" }, device);
    assert.equal(service.received.at(-1)?.headers["urgency"], "low");
  });

  it("rejects a subscription the service says is gone, or one that cannot be pushed to, and fails on the service's troubles", async () => {
    service.answer = () => ({ status: 410 });
    assert.equal(await pusher.push(message, device), "rejected");
    service.answer = () => ({ status: 404 });
    assert.equal(await pusher.push(message, device), "rejected");
    service.answer = () => ({ status: 413 });
    assert.equal(await pusher.push(message, device), "dropped");
    service.answer = () => ({ status: 429 });
    await assert.rejects(pusher.push(message, device), PushDispatchError);
    service.answer = () => ({ status: 502 });
    await assert.rejects(pusher.push(message, device), PushDispatchError);
    const sent = service.received.length;
    assert.equal(await pusher.push(message, { ...device, data: { auth: browser.auth } }), "rejected", "no endpoint");
    assert.equal(await pusher.push(message, { ...device, data: { endpoint: `${service.url}/x` } }), "rejected", "no auth secret");
    assert.equal(await pusher.push(message, { ...device, pushkey: "bm90IGEga2V5" }), "rejected", "a pushkey that is no P-256 key");
    assert.equal(service.received.length, sent);
  });

  it("refuses a VAPID key file that is no P-256 private key", () => {
    assert.throws(() => vapidKeysFromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "bad.pem"), /bad.pem is not a VAPID/);
  });
});
