// A Weft homeserver's HTTP pushers delivering through Weft's push gateway, end to end over real HTTP:
// a message reaches a browser's web push subscription (encrypted, read back with its keys) and an
// iPhone's APNs token (event_id_only with the app's default payload), and a subscription the push
// service says is gone is rejected back to the homeserver, which drops the pusher.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { JsonObject } from "../../src/core/json.ts";
import { startPushGateway, type RunningPushGateway } from "../../src/push-gateway/gateway.ts";
import type { PushGatewayConfig } from "../../src/push-gateway/config.ts";
import type { TestHomeserver } from "../homeserver/harness.ts";
import { call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "../homeserver/rooms/helpers.ts";
import { engines } from "../storage/engines.ts";
import { providerKeys, type ProviderKeys } from "./keys.ts";
import { startHttp2Provider, startHttpProvider, webPushSubscriber, type ProviderStub } from "./providers.ts";

const WEB = "org.example.web";
const IOS = "org.example.ios";
const TOKEN_HEX = "c0ffee".repeat(11).slice(0, 64);

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

for (const engine of engines) {
  describe(`a homeserver pushing through the push gateway [${engine}]`, () => {
    let keys: ProviderKeys;
    let webPush: ProviderStub;
    let apns: ProviderStub;
    let gateway: RunningPushGateway;
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let roomId: string;
    let notifyUrl: string;
    const browser = webPushSubscriber();

    const setPusher = async (user: TestUser, appId: string, pushkey: string, data: JsonObject) => {
      const body = { kind: "http", app_id: appId, pushkey, app_display_name: "Weft", device_display_name: "Device", lang: "en", data: { url: notifyUrl, ...data } };
      const reply = await call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: user.accessToken, body });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };

    before(async () => {
      keys = await providerKeys();
      webPush = await startHttpProvider(() => ({ status: 201 }));
      apns = await startHttp2Provider();
      const config: PushGatewayConfig = {
        port: 0,
        bindAddresses: ["127.0.0.1"],
        xForwarded: false,
        logLevel: "silent",
        apps: new Map([
          [WEB, { type: "webpush", vapidPrivateKey: keys.vapidKeyFile, vapidContactEmail: "admin@example.org", ttl: 60 }],
          [IOS, { type: "apns", keyFile: keys.apnsKeyFile, keyId: "K", teamId: "T", topic: IOS, platform: "production", apiUrl: apns.url }],
        ]),
      };
      gateway = await startPushGateway(config, pino({ level: "silent" }));
      notifyUrl = `http://127.0.0.1:${gateway.addresses[0]?.port}/_matrix/push/v1/notify`;
      hs = await startRoomsHomeserver(engine, ["ip_range_whitelist: ['127.0.0.1']", "rc_message: {per_second: 1000, burst_count: 1000}"].join("\n"));
      [alice, bob] = (await Promise.all(["alice", "bob"].map((name) => registerUser(hs, `pg_${name}`)))) as [TestUser, TestUser];
      roomId = await createRoom(hs, alice, { preset: "trusted_private_chat", is_direct: true, invite: [bob.userId] });
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
    });
    after(async () => {
      await hs?.stop();
      await gateway?.close();
      await webPush?.close();
      await apns?.close();
      await keys?.cleanup();
    });

    it("delivers a message to a browser's subscription and an iPhone", async () => {
      await setPusher(bob, WEB, browser.p256dh, { endpoint: `${webPush.url}/sub/bob`, auth: browser.auth });
      const defaults = { aps: { "mutable-content": 1, alert: { "loc-key": "Notification", "loc-args": [] } } };
      await setPusher(bob, IOS, Buffer.from(TOKEN_HEX, "hex").toString("base64"), { format: "event_id_only", default_payload: defaults });
      const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { token: alice.accessToken, body: { msgtype: "m.text", body: "hello bob" } });
      assert.equal(sent.status, 200);
      const eventId = sent.body["event_id"] as string;

      await waitFor("the browser's push", () => webPush.received.length > 0);
      const pushed = JSON.parse(browser.decrypt(webPush.received[0]?.body ?? Buffer.alloc(0))) as JsonObject;
      assert.equal(pushed["event_id"], eventId);
      assert.equal(pushed["room_id"], roomId);
      assert.equal(pushed["sender"], alice.userId);
      assert.deepEqual(pushed["content"], { msgtype: "m.text", body: "hello bob" });
      assert.equal(pushed["unread"], 1);

      await waitFor("the iPhone's push", () => apns.received.length > 0);
      const request = apns.received[0];
      assert.equal(request?.path, `/3/device/${TOKEN_HEX}`);
      const payload = JSON.parse(request?.body.toString("utf8") ?? "{}") as JsonObject;
      assert.equal(payload["event_id"], eventId);
      assert.equal(payload["room_id"], roomId);
      assert.equal(payload["content"], undefined, "event_id_only: no content");
      // The direct chat's push rule asks for the default sound (modules/push.md .m.rule.room_one_to_one).
      assert.deepEqual(payload["aps"], { ...defaults.aps, badge: 1, sound: "default" });
    });

    it("drops the pusher of a subscription the push service says is gone", async () => {
      webPush.answer = () => ({ status: 410 });
      const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t2`, { token: alice.accessToken, body: { msgtype: "m.text", body: "still there?" } });
      assert.equal(sent.status, 200);
      const pushers = async () => ((await call(hs, "GET", "/_matrix/client/v3/pushers", { token: bob.accessToken })).body["pushers"] as JsonObject[]).map((p) => p["app_id"]);
      const end = Date.now() + 20_000;
      while ((await pushers()).includes(WEB)) {
        if (Date.now() > end) throw new Error("the rejected pusher is still there");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(await pushers(), [IOS]);
    });
  });
}
