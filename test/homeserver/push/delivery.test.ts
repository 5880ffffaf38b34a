// Push notification delivery (modules/push.md#server-behaviour, push-gateway-api) over real HTTP
// on both engines, to a fake push gateway over HTTPS: what a notification says in both formats,
// the unread count and read receipts, which events notify whom, retries, and rejected pushkeys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import type { TestHomeserver } from "../harness.ts";
import { call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";
import { startFakeGateway, type FakeGateway } from "./gateway.ts";

const APP_ID = "com.example.weft.test";

for (const engine of engines) {
  describe(`push notification delivery [${engine}]`, () => {
    let pki: TestPki;
    let gateway: FakeGateway;
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let group: string;
    let direct: string;
    let txn = 0;

    const send = async (user: TestUser, roomId: string, content: JsonObject): Promise<string> => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${++txn}`, { token: user.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body["event_id"] as string;
    };
    const text = (body: string, extra: JsonObject = {}): JsonObject => ({ msgtype: "m.text", body, ...extra });
    const setPusher = async (user: TestUser, pushkey: string, data: JsonObject = {}) => {
      const body = { kind: "http", app_id: APP_ID, pushkey, app_display_name: "Weft test", device_display_name: "Phone", lang: "en", data: { url: gateway.url, ...data } };
      const reply = await call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: user.accessToken, body });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    const join = async (user: TestUser, roomId: string) => assert.equal((await post(hs, user, `/rooms/${enc(roomId)}/join`)).status, 200);

    before(async () => {
      pki = await createTestPki();
      gateway = await startFakeGateway(pki);
      hs = await startRoomsHomeserver(engine, [`federation_custom_ca_list: [${pki.caPath}]`, "ip_range_whitelist: ['127.0.0.1']", "rc_message: {per_second: 1000, burst_count: 1000}"].join("\n"));
      [alice, bob, carol] = (await Promise.all(["alice", "bob", "carol"].map((name) => registerUser(hs, `push_${name}`)))) as [TestUser, TestUser, TestUser];
      const named = await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, { token: alice.accessToken, body: { displayname: "Major Tom" } });
      assert.equal(named.status, 200);
      group = await createRoom(hs, alice, { preset: "private_chat", name: "Mission Control", room_alias_name: "mission", invite: [bob.userId, carol.userId] });
      await join(bob, group);
      await join(carol, group);
      direct = await createRoom(hs, alice, { preset: "trusted_private_chat", is_direct: true, invite: [bob.userId] });
      await join(bob, direct);
      await setPusher(bob, "bob-key", { custom: "kept" });
    });
    after(async () => {
      await hs.stop();
      await gateway.close();
      await pki.cleanup();
    });

    it("sends a member's gateway the spec's notification about a message of another", async () => {
      const before = Date.now();
      const eventId = await send(alice, group, text("hello"));
      const [notification] = await gateway.next(1);
      const device = ((notification as JsonObject)["devices"] as JsonObject[])[0] as JsonObject;
      assert.ok(Math.abs((device["pushkey_ts"] as number) - before / 1000) < 60, "pushkey_ts is in seconds");
      assert.deepEqual(notification, {
        event_id: eventId,
        room_id: group,
        type: "m.room.message",
        sender: alice.userId,
        sender_display_name: "Major Tom",
        room_name: "Mission Control",
        room_alias: "#mission:test.local",
        prio: "low",
        content: { msgtype: "m.text", body: "hello" },
        counts: { unread: 1 },
        devices: [{ app_id: APP_ID, pushkey: "bob-key", pushkey_ts: device["pushkey_ts"] as number, data: { custom: "kept" }, tweaks: {} }],
      });
    });

    it("counts the unread notifications across rooms, until a read receipt", async () => {
      const second = await send(alice, group, text("are you there?"));
      assert.deepEqual((await gateway.next(1))[0]?.["counts"], { unread: 2 });
      const receipt = await post(hs, bob, `/rooms/${enc(group)}/receipt/m.read/${enc(second)}`, {});
      assert.equal(receipt.status, 200, JSON.stringify(receipt.body));
      await send(alice, group, text("third"));
      assert.deepEqual((await gateway.next(1))[0]?.["counts"], { unread: 1 });
      await send(alice, direct, text("psst"));
      assert.deepEqual((await gateway.next(1))[0]?.["counts"], { unread: 2 }, "one in each room");
    });

    it("sends only the IDs, counts and devices with format event_id_only; a one-to-one room rings", async () => {
      await setPusher(bob, "bob-key", { format: "event_id_only" });
      const eventId = await send(alice, direct, text("just us"));
      const [notification] = await gateway.next(1);
      assert.deepEqual(Object.keys(notification as JsonObject).sort(), ["counts", "devices", "event_id", "room_id"]);
      assert.equal(notification?.["event_id"], eventId);
      assert.equal(notification?.["room_id"], direct);
      assert.deepEqual(notification?.["devices"], [
        { app_id: APP_ID, pushkey: "bob-key", pushkey_ts: ((notification?.["devices"] as JsonObject[])[0] as JsonObject)["pushkey_ts"] as number, data: { format: "event_id_only" }, tweaks: { sound: "default" } },
      ]);
    });

    it("pushes nothing for the user's own events, muted rooms, or senders they ignore", async () => {
      await send(bob, group, text("mine"));
      const ignore = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.ignored_user_list`, {
        token: bob.accessToken,
        body: { ignored_users: { [carol.userId]: {} } },
      });
      assert.equal(ignore.status, 200);
      await send(carol, group, text("ignored"));
      const mute = await call(hs, "PUT", `/_matrix/client/v3/pushrules/global/room/${enc(group)}`, { token: bob.accessToken, body: { actions: [] } });
      assert.equal(mute.status, 200, JSON.stringify(mute.body));
      await send(alice, group, text("muted"));
      // The next notification is about what comes after them: they were skipped.
      const sentinel = await send(alice, direct, text("sentinel"));
      assert.equal((await gateway.next(1))[0]?.["event_id"], sentinel);
    });

    it("highlights a mention even in a muted room (an override is above room rules)", async () => {
      await send(alice, group, text("hey bob", { "m.mentions": { user_ids: [bob.userId] } }));
      const [notification] = await gateway.next(1);
      assert.deepEqual(((notification?.["devices"] as JsonObject[])[0] as JsonObject)["tweaks"], { sound: "default", highlight: true });
    });

    it("pushes an invite to the invitee, who is its target", async () => {
      await setPusher(bob, "bob-key");
      const room = await createRoom(hs, alice, { preset: "private_chat", name: "Party" });
      const invite = await post(hs, alice, `/rooms/${enc(room)}/invite`, { user_id: bob.userId });
      assert.equal(invite.status, 200, JSON.stringify(invite.body));
      const [notification] = await gateway.next(1);
      assert.equal(notification?.["type"], "m.room.member");
      assert.equal(notification?.["room_id"], room);
      assert.equal(notification?.["room_name"], "Party");
      assert.equal(notification?.["user_is_target"], true);
      assert.deepEqual(notification?.["content"], { membership: "invite", displayname: "push_bob" });
    });

    it("tries a failing gateway again after a backoff", async () => {
      let calls = 0;
      gateway.answer = () => (++calls === 1 ? { status: 502, body: { error: "upstream down" } } : { status: 200, body: { rejected: [] } });
      const eventId = await send(alice, direct, text("retry me"));
      const [first, second] = await gateway.next(2);
      assert.equal(first?.["event_id"], eventId);
      assert.equal(second?.["event_id"], eventId, "the same notification again");
      gateway.answer = () => ({ status: 200, body: { rejected: [] } });
    });

    it("removes a pusher whose pushkey the gateway rejects, and sends it nothing more", async () => {
      gateway.answer = (notification) => ({ status: 200, body: { rejected: ((notification["devices"] as JsonObject[]).map((d) => d["pushkey"]) as string[]) } });
      await send(alice, direct, text("rejected"));
      await gateway.next(1);
      gateway.answer = () => ({ status: 200, body: { rejected: [] } });
      for (let i = 0; i < 100 && hs.server.services.push.pushers.list(bob.userId).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      const listed = await call(hs, "GET", "/_matrix/client/v3/pushers", { token: bob.accessToken });
      assert.deepEqual(listed.body["pushers"], []);
      await send(alice, direct, text("nobody hears this"));
      await setPusher(bob, "bob-new-key");
      const heard = await send(alice, direct, text("the new phone hears this"));
      const [notification] = await gateway.next(1);
      assert.equal(notification?.["event_id"], heard);
      assert.equal(((notification?.["devices"] as JsonObject[])[0] as JsonObject)["pushkey"], "bob-new-key");
    });
  });
}
