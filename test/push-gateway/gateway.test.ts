// The push gateway over real HTTP (push-gateway-api): POST /_matrix/push/v1/notify handed to each
// device's provider (stand-ins of APNs, FCM and a web push service), the rejected pushkeys, a 502
// for the homeserver to try again, duplicate suppression by event ID, and the spec's errors.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import pino from "pino";
import { request } from "undici";
import type { PushGatewayConfig } from "../../src/push-gateway/config.ts";
import { startPushGateway, type RunningPushGateway } from "../../src/push-gateway/gateway.ts";
import { providerKeys, type ProviderKeys } from "./keys.ts";
import { startHttp2Provider, startHttpProvider, webPushSubscriber, type ProviderStub } from "./providers.ts";

const IOS = "com.example.app.ios";
const ANDROID = "com.example.app.android";
const TOKEN = Buffer.alloc(32, 7).toString("base64");

describe("the push gateway over HTTP", () => {
  let keys: ProviderKeys;
  let apns: ProviderStub;
  let google: ProviderStub;
  let fcm: ProviderStub;
  let webPush: ProviderStub;
  let gateway: RunningPushGateway;
  let base: string;
  const browser = webPushSubscriber();

  const post = async (body: unknown, path = "/_matrix/push/v1/notify", method: "POST" | "GET" = "POST") => {
    const response = await request(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(method === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>), text };
  };
  const ios = (pushkey = TOKEN) => ({ app_id: IOS, pushkey, pushkey_ts: 1, data: { format: "event_id_only" } });
  const android = (pushkey = "fcm-token") => ({ app_id: ANDROID, pushkey, data: {} });
  const web = () => ({ app_id: "org.example.web.firefox", pushkey: browser.p256dh, data: { endpoint: `${webPush.url}/sub/1`, auth: browser.auth } });
  let eventCounter = 0;
  const notification = (devices: unknown[], extra: Record<string, unknown> = {}) => ({
    notification: { event_id: `$event${++eventCounter}`, room_id: "!r:example.org", counts: { unread: 1 }, devices, ...extra },
  });

  before(async () => {
    keys = await providerKeys();
    apns = await startHttp2Provider();
    google = await startHttpProvider(() => ({ status: 200, body: { access_token: "at", expires_in: 3600 } }));
    fcm = await startHttpProvider();
    webPush = await startHttpProvider(() => ({ status: 201 }));
    const config: PushGatewayConfig = {
      port: 1,
      bindAddresses: ["127.0.0.1"],
      xForwarded: false,
      logLevel: "silent",
      apps: new Map([
        [IOS, { type: "apns", keyFile: keys.apnsKeyFile, keyId: "K", teamId: "T", topic: IOS, platform: "production", apiUrl: apns.url }],
        [ANDROID, { type: "gcm", projectId: undefined, serviceAccountFile: await keys.serviceAccountFile(`${google.url}/token`), apiUrl: fcm.url }],
        ["org.example.web.*", { type: "webpush", vapidPrivateKey: keys.vapidKeyFile, vapidContactEmail: "a@example.org", ttl: 60 }],
      ]),
    };
    gateway = await startPushGateway({ ...config, port: 0 } as PushGatewayConfig, pino({ level: "silent" }));
    base = `http://127.0.0.1:${gateway.addresses[0]?.port}`;
  });
  beforeEach(() => {
    apns.answer = () => ({ status: 200 });
    fcm.answer = () => ({ status: 200, body: {} });
    webPush.answer = () => ({ status: 201 });
  });
  after(async () => {
    await gateway?.close();
    await Promise.all([apns, google, fcm, webPush].map((stub) => stub?.close()));
    await keys?.cleanup();
  });

  it("hands each device to its app's provider, an app ID matched by a pattern too, and answers 200 with nothing rejected", async () => {
    const counts = [apns.received.length, fcm.received.length, webPush.received.length];
    const reply = await post(notification([ios(), android(), web()]));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, { rejected: [] });
    assert.deepEqual([apns.received.length, fcm.received.length, webPush.received.length], counts.map((c) => c + 1));
    const pushed = JSON.parse(browser.decrypt(webPush.received.at(-1)?.body ?? Buffer.alloc(0))) as Record<string, unknown>;
    assert.equal(pushed["event_id"], `$event${eventCounter}`);
  });

  it("answers the pushkeys refused for good: by the provider, of an app not served here, or unreadable", async () => {
    apns.answer = () => ({ status: 410, body: { reason: "Unregistered" } });
    const reply = await post(notification([ios(), android(), { app_id: "org.unknown", pushkey: "k1" }, { app_id: "com.example.app.tvos", pushkey: "k2" }]));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { rejected: [TOKEN, "k1", "k2"] });
  });

  it("answers 502 when a provider fails for now, and does not push again to the devices reached when the homeserver retries", async () => {
    fcm.answer = () => ({ status: 503, body: { error: { status: "UNAVAILABLE" } } });
    const body = notification([ios(), android()]);
    const apnsBefore = apns.received.length;
    const failed = await post(body);
    assert.equal(failed.status, 502);
    assert.equal(failed.json?.["errcode"], "M_UNKNOWN");
    assert.equal(apns.received.length, apnsBefore + 1);
    fcm.answer = () => ({ status: 200, body: {} });
    const fcmBefore = fcm.received.length;
    const retried = await post(body);
    assert.deepEqual([retried.status, retried.json], [200, { rejected: [] }]);
    assert.equal(apns.received.length, apnsBefore + 1, "the iPhone is not alerted twice");
    assert.equal(fcm.received.length, fcmBefore + 1);
  });

  it("sends count updates (no event ID) every time", async () => {
    const before = apns.received.length;
    const counts = { notification: { counts: { unread: 0 }, devices: [ios()] } };
    assert.equal((await post(counts)).status, 200);
    assert.equal((await post(counts)).status, 200);
    assert.equal(apns.received.length, before + 2);
    // A badge update: an alert push by Apple's types, at the priority that may wait.
    const last = apns.received.at(-1);
    assert.deepEqual([last?.headers["apns-push-type"], last?.headers["apns-priority"]], ["alert", "5"]);
    assert.deepEqual(JSON.parse(last?.body.toString("utf8") ?? "{}"), { aps: { badge: 0 }, unread: 0, unread_count: 0 });
  });

  it("answers bad requests with the spec's errors", async () => {
    const bad = async (body: unknown, errcode: string) => {
      const reply = await post(body);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.json?.["errcode"], errcode, reply.text);
    };
    await bad("{not json", "M_NOT_JSON");
    await bad([], "M_BAD_JSON");
    await bad({}, "M_MISSING_PARAM");
    await bad({ notification: {} }, "M_MISSING_PARAM");
    await bad({ notification: { devices: [] } }, "M_BAD_JSON");
    await bad({ notification: { devices: [{ app_id: IOS }] } }, "M_MISSING_PARAM");
    await bad({ notification: { prio: "urgent", devices: [ios()] } }, "M_BAD_JSON");
    await bad({ notification: { counts: { unread: -1 }, devices: [ios()] } }, "M_BAD_JSON");
    const unknown = await post({}, "/_matrix/push/v1/elsewhere");
    assert.deepEqual([unknown.status, unknown.json?.["errcode"]], [404, "M_UNRECOGNIZED"]);
    const wrongMethod = await post(undefined, "/_matrix/push/v1/notify", "GET");
    assert.deepEqual([wrongMethod.status, wrongMethod.json?.["errcode"]], [405, "M_UNRECOGNIZED"]);
  });

  it("answers /health", async () => {
    const reply = await request(`${base}/health`);
    assert.equal(reply.statusCode, 200);
    await reply.body.dump();
  });
});
