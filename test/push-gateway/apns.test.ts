// APNs delivery: the payload for both pusher formats, the device token, and the HTTP/2 requests to an
// APNs stand-in (cleartext HTTP/2): token authentication, headers, and what each answer becomes.
import assert from "node:assert/strict";
import { verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ApnsPusher, apnsPayload, deviceToken } from "../../src/push-gateway/apns.ts";
import type { ApnsAppConfig } from "../../src/push-gateway/config.ts";
import type { Device, Notification } from "../../src/push-gateway/notification.ts";
import { PushDispatchError } from "../../src/push-gateway/notification.ts";
import { jwtParts, providerKeys, type ProviderKeys } from "./keys.ts";
import { startHttp2Provider, type ProviderStub } from "./providers.ts";

const TOKEN_HEX = "ab".repeat(32);
const device = (data: Device["data"] = {}, pushkey = Buffer.from(TOKEN_HEX, "hex").toString("base64")): Device => ({ app_id: "com.example.ios", pushkey, data });
const message: Notification = {
  event_id: "$e1",
  room_id: "!r:example.org",
  type: "m.room.message",
  sender: "@alice:example.org",
  sender_display_name: "Alice",
  room_name: "Mission Control",
  content: { msgtype: "m.text", body: "hello" },
  counts: { unread: 3 },
  prio: "high",
  devices: [],
};

describe("APNs payloads", () => {
  it("reads a base64 pushkey (what iOS apps register) or a hex one as the hex device token", () => {
    assert.equal(deviceToken(Buffer.from(TOKEN_HEX, "hex").toString("base64")), TOKEN_HEX);
    assert.equal(deviceToken(TOKEN_HEX.toUpperCase()), TOKEN_HEX);
    assert.equal(deviceToken("not a token!"), undefined);
    assert.equal(deviceToken("c2hvcnQ="), undefined, "too short for a device token");
  });

  it("gives a full notification an alert, the badge and the event's fields", () => {
    const { payload, pushType, priority } = apnsPayload(message, device({}));
    const body = JSON.parse(payload) as Record<string, unknown>;
    assert.deepEqual(body["aps"], { badge: 3, alert: { title: "Mission Control", body: "hello" } });
    assert.equal(body["event_id"], "$e1");
    assert.equal(body["room_id"], "!r:example.org");
    assert.equal(body["unread_count"], 3);
    assert.deepEqual(body["content"], { msgtype: "m.text", body: "hello" });
    assert.deepEqual([pushType, priority], ["alert", 10]);
  });

  it("lays an event_id_only pusher's default_payload under the IDs, without an alert of its own", () => {
    const defaults = { aps: { "mutable-content": 1, alert: { "loc-key": "Notification", "loc-args": [] } } };
    const idOnly: Notification = { event_id: "$e1", room_id: "!r:example.org", counts: { unread: 1 }, prio: "low", devices: [] };
    const { payload, pushType, priority } = apnsPayload(idOnly, device({ format: "event_id_only", default_payload: defaults }));
    assert.deepEqual(JSON.parse(payload), {
      aps: { "mutable-content": 1, alert: { "loc-key": "Notification", "loc-args": [] }, badge: 1 },
      event_id: "$e1",
      room_id: "!r:example.org",
      prio: "low",
      unread: 1,
      unread_count: 1,
    });
    assert.deepEqual([pushType, priority], ["alert", 5]);
  });

  it("sends counts alone as a background push, and the device's sound tweak as the sound", () => {
    const counts = apnsPayload({ devices: [] }, device({ format: "event_id_only" }));
    assert.deepEqual(JSON.parse(counts.payload), { aps: { "content-available": 1 } });
    assert.deepEqual([counts.pushType, counts.priority], ["background", 5]);
    const sounding = apnsPayload(message, { ...device({}), tweaks: { sound: "default" } });
    assert.equal((JSON.parse(sounding.payload) as { aps: { sound: string } }).aps.sound, "default");
  });

  it("drops the content of a notification too large for APNs' 4 KB", () => {
    const large: Notification = { ...message, content: { msgtype: "m.text", body: "x".repeat(6000) } };
    const { payload } = apnsPayload(large, device({}));
    assert.ok(Buffer.byteLength(payload) <= 4096, `${Buffer.byteLength(payload)} bytes`);
    assert.equal((JSON.parse(payload) as Record<string, unknown>)["content"], undefined);
  });
});

describe("ApnsPusher against an APNs stand-in", () => {
  let keys: ProviderKeys;
  let apns: ProviderStub;
  let pusher: ApnsPusher;

  before(async () => {
    keys = await providerKeys();
    apns = await startHttp2Provider();
    const config: ApnsAppConfig = { type: "apns", keyFile: keys.apnsKeyFile, keyId: "TESTKEY123", teamId: "TEAM123456", topic: "com.example.ios", platform: "production", apiUrl: apns.url };
    pusher = await ApnsPusher.create(config);
  });
  after(async () => {
    await pusher.close();
    await apns.close();
    await keys.cleanup();
  });

  it("POSTs to /3/device/{hex token} with the topic, push type, priority and an ES256 provider token", async () => {
    apns.answer = () => ({ status: 200 });
    assert.equal(await pusher.push(message, device({})), "delivered");
    const request = apns.received.at(-1);
    assert.ok(request !== undefined);
    assert.equal(request.method, "POST");
    assert.equal(request.path, `/3/device/${TOKEN_HEX}`);
    assert.equal(request.headers["apns-topic"], "com.example.ios");
    assert.equal(request.headers["apns-push-type"], "alert");
    assert.equal(request.headers["apns-priority"], "10");
    const authorization = String(request.headers["authorization"]);
    assert.match(authorization, /^bearer /);
    const { header, claims } = jwtParts(authorization.slice(7), (signed, signature) =>
      verify("sha256", signed, { key: keys.apnsPublicKey, dsaEncoding: "ieee-p1363" }, signature),
    );
    assert.deepEqual(header, { alg: "ES256", kid: "TESTKEY123" });
    assert.equal(claims["iss"], "TEAM123456");
    assert.ok(Math.abs((claims["iat"] as number) - Date.now() / 1000) < 60);
    assert.equal((JSON.parse(request.body.toString("utf8")) as Record<string, unknown>)["event_id"], "$e1");
  });

  it("reuses its provider token, and makes a new one when APNs finds it expired", async () => {
    apns.answer = () => ({ status: 200 });
    await pusher.push(message, device({}));
    const first = apns.received.at(-1)?.headers["authorization"];
    await pusher.push(message, device({}));
    assert.equal(apns.received.at(-1)?.headers["authorization"], first);
    let calls = 0;
    apns.answer = () => (++calls === 1 ? { status: 403, body: { reason: "ExpiredProviderToken" } } : { status: 200 });
    const before = apns.received.length;
    assert.equal(await pusher.push(message, device({})), "delivered");
    assert.equal(apns.received.length - before, 2, "tried again once");
    // ECDSA signatures are randomised: a token made again differs, even within the same second.
    assert.notEqual(apns.received.at(-1)?.headers["authorization"], first);
  });

  it("rejects pushkeys APNs says are dead, drops a notification it refuses, and fails on the rest", async () => {
    apns.answer = () => ({ status: 410, body: { reason: "Unregistered", timestamp: 1 } });
    assert.equal(await pusher.push(message, device({})), "rejected");
    apns.answer = () => ({ status: 400, body: { reason: "BadDeviceToken" } });
    assert.equal(await pusher.push(message, device({})), "rejected");
    apns.answer = () => ({ status: 413, body: { reason: "PayloadTooLarge" } });
    assert.equal(await pusher.push(message, device({})), "dropped");
    apns.answer = () => ({ status: 503, body: { reason: "ServiceUnavailable" } });
    await assert.rejects(pusher.push(message, device({})), PushDispatchError);
    apns.answer = () => ({ status: 429, body: { reason: "TooManyRequests" } });
    await assert.rejects(pusher.push(message, device({})), PushDispatchError);
    const before = apns.received.length;
    assert.equal(await pusher.push(message, device({}, "not a token!")), "rejected");
    assert.equal(apns.received.length, before, "an unreadable pushkey is not sent");
  });

  it("fails, to be tried again, when APNs does not answer in time", async () => {
    const config: ApnsAppConfig = { type: "apns", keyFile: keys.apnsKeyFile, keyId: "K", teamId: "T", topic: "t", platform: "production", apiUrl: apns.url };
    const impatient = await ApnsPusher.create(config, { timeoutMs: 200 });
    apns.answer = () => undefined;
    try {
      await assert.rejects(impatient.push(message, device({})), (err: unknown) => err instanceof PushDispatchError && /in time/.test(err.message));
    } finally {
      apns.answer = () => ({ status: 200 });
      await impatient.close();
    }
  });

  it("fails, to be tried again, when APNs cannot be reached", async () => {
    const config: ApnsAppConfig = { type: "apns", keyFile: keys.apnsKeyFile, keyId: "K", teamId: "T", topic: "t", platform: "production", apiUrl: "http://127.0.0.1:1" };
    const unreachable = await ApnsPusher.create(config);
    try {
      await assert.rejects(unreachable.push(message, device({})), PushDispatchError);
    } finally {
      await unreachable.close();
    }
  });
});
