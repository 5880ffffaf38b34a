// FCM delivery (HTTP v1 API) against stand-ins of Google's token endpoint and of FCM: the service
// account's JWT exchanged for an access token (kept, renewed when refused), the message, and what
// each answer becomes.
import assert from "node:assert/strict";
import { verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FcmAppConfig } from "../../src/push-gateway/config.ts";
import { FcmPusher, fcmMessage } from "../../src/push-gateway/fcm.ts";
import type { Device, Notification } from "../../src/push-gateway/notification.ts";
import { PushDispatchError } from "../../src/push-gateway/notification.ts";
import { jwtParts, providerKeys, type ProviderKeys } from "./keys.ts";
import { startHttpProvider, type ProviderStub } from "./providers.ts";

const device: Device = { app_id: "com.example.android", pushkey: "fcm-registration-token", data: { format: "event_id_only" } };
const message: Notification = {
  event_id: "$e1",
  room_id: "!r:example.org",
  sender: "@alice:example.org",
  content: { msgtype: "m.text", body: "hello" },
  counts: { unread: 2, missed_calls: 1 },
  prio: "low",
  devices: [],
};

describe("FCM messages", () => {
  it("carries the notification's fields as strings in data, objects as JSON, with the priority for Android", () => {
    assert.deepEqual(fcmMessage(message, device), {
      token: "fcm-registration-token",
      data: {
        room_id: "!r:example.org",
        event_id: "$e1",
        sender: "@alice:example.org",
        content: JSON.stringify({ msgtype: "m.text", body: "hello" }),
        prio: "low",
        unread: "2",
        missed_calls: "1",
      },
      android: { priority: "normal" },
    });
    assert.deepEqual(fcmMessage({ ...message, prio: "high" }, device)["android"], { priority: "high" });
  });

  it("lays the pusher's default_payload over the message, and drops content too large for 4 KB of data", () => {
    const withDefaults: Device = { ...device, data: { default_payload: { android: { ttl: "60s" }, data: { extra: "x" } } } };
    const out = fcmMessage({ ...message, content: { body: "y".repeat(5000) } }, withDefaults);
    assert.deepEqual(out["android"], { priority: "normal", ttl: "60s" });
    const data = out["data"] as Record<string, string>;
    assert.equal(data["extra"], "x");
    assert.equal(data["content"], undefined);
    assert.equal(data["event_id"], "$e1");
  });
});

describe("FcmPusher against stand-ins of Google", () => {
  let keys: ProviderKeys;
  let google: ProviderStub;
  let fcm: ProviderStub;
  let pusher: FcmPusher;
  let tokens = 0;

  before(async () => {
    keys = await providerKeys();
    google = await startHttpProvider(() => ({ status: 200, body: { access_token: `access-${++tokens}`, expires_in: 3599, token_type: "Bearer" } }));
    fcm = await startHttpProvider(() => ({ status: 200, body: { name: "projects/weft-test/messages/1" } }));
    const config: FcmAppConfig = { type: "gcm", projectId: undefined, serviceAccountFile: await keys.serviceAccountFile(`${google.url}/token`), apiUrl: fcm.url };
    pusher = await FcmPusher.create(config);
  });
  after(async () => {
    await pusher.close();
    await google.close();
    await fcm.close();
    await keys.cleanup();
  });

  it("gets an access token with the service account's signed JWT, and sends the message to the account's project", async () => {
    assert.equal(await pusher.push(message, device), "delivered");
    const exchange = google.received[0];
    assert.ok(exchange !== undefined);
    const form = new URLSearchParams(exchange.body.toString("utf8"));
    assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
    const { header, claims } = jwtParts(form.get("assertion") ?? "", (signed, signature) => verify("sha256", signed, keys.serviceAccountPublicKey, signature));
    assert.equal(header["alg"], "RS256");
    assert.equal(claims["iss"], "push@weft-test.iam.gserviceaccount.com");
    assert.equal(claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
    assert.equal(claims["aud"], `${google.url}/token`);
    const send = fcm.received[0];
    assert.ok(send !== undefined);
    assert.equal(send.path, "/v1/projects/weft-test/messages:send");
    assert.equal(send.headers["authorization"], "Bearer access-1");
    assert.deepEqual((JSON.parse(send.body.toString("utf8")) as { message: unknown }).message, fcmMessage(message, device));
  });

  it("keeps its access token, and gets a new one when FCM refuses it", async () => {
    const exchanges = google.received.length;
    await pusher.push(message, device);
    assert.equal(google.received.length, exchanges, "no new token for a second push");
    let sends = 0;
    fcm.answer = () => (++sends === 1 ? { status: 401, body: { error: { code: 401, status: "UNAUTHENTICATED" } } } : { status: 200, body: {} });
    assert.equal(await pusher.push(message, device), "delivered");
    assert.equal(google.received.length, exchanges + 1);
    assert.equal(fcm.received.at(-1)?.headers["authorization"], `Bearer access-${tokens}`);
  });

  it("rejects a token FCM does not know, and fails, to be tried again, when FCM or Google is not well", async () => {
    fcm.answer = () => ({ status: 404, body: { error: { code: 404, status: "NOT_FOUND", details: [{ errorCode: "UNREGISTERED" }] } } });
    assert.equal(await pusher.push(message, device), "rejected");
    fcm.answer = () => ({ status: 400, body: { error: { code: 400, status: "INVALID_ARGUMENT" } } });
    assert.equal(await pusher.push(message, device), "rejected");
    fcm.answer = () => ({ status: 503, body: { error: { code: 503, status: "UNAVAILABLE" } } });
    await assert.rejects(pusher.push(message, device), PushDispatchError);
    fcm.answer = () => ({ status: 429, body: { error: { code: 429, status: "RESOURCE_EXHAUSTED" } } });
    await assert.rejects(pusher.push(message, device), PushDispatchError);

    const config: FcmAppConfig = { type: "gcm", projectId: "other", serviceAccountFile: await keys.serviceAccountFile(`${google.url}/token`, "p2"), apiUrl: fcm.url };
    const refused = await FcmPusher.create(config);
    google.answer = () => ({ status: 400, body: { error: "invalid_grant" } });
    await assert.rejects(refused.push(message, device), PushDispatchError);
  });
});
