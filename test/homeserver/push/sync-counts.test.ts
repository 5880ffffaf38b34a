// /sync's unread_notifications (client-server-api#receiving-notifications: "calculated by the
// server from push rules") over real HTTP on both engines: a keyword rule highlights, a muted room
// counts nothing, an @room mention by a member allowed to make one highlights, notices and the
// user's own messages do not count.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";

for (const engine of engines) {
  describe(`unread counts from push rules [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let txn = 0;

    const send = async (user: TestUser, roomId: string, content: JsonObject): Promise<void> => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/c${++txn}`, { token: user.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    const counts = async (user: TestUser, roomId: string): Promise<JsonObject> => {
      const reply = await call(hs, "GET", "/_matrix/client/v3/sync", { token: user.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const join = (reply.body["rooms"] as JsonObject)["join"] as Record<string, JsonObject>;
      return join[roomId]?.["unread_notifications"] as JsonObject;
    };
    const putRule = async (user: TestUser, kind: string, ruleId: string, body: JsonObject): Promise<void> => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/pushrules/global/${kind}/${enc(ruleId)}`, { token: user.accessToken, body });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    const roomWithBob = async (): Promise<string> => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
      return roomId;
    };

    before(async () => {
      hs = await startRoomsHomeserver(engine, "rc_message: {per_second: 1000, burst_count: 1000}");
      [alice, bob] = (await Promise.all(["alice", "bob"].map((name) => registerUser(hs, `counts_${name}`)))) as [TestUser, TestUser];
    });
    after(() => hs.stop());

    it("counts what the rules notify, and highlights a keyword of the user's own content rule", async () => {
      const roomId = await roomWithBob();
      await putRule(bob, "content", "cheese", { pattern: "cheese", actions: ["notify", { set_tweak: "highlight" }] });
      await send(alice, roomId, { msgtype: "m.text", body: "hello" });
      await send(alice, roomId, { msgtype: "m.text", body: "who wants Cheese?" });
      await send(alice, roomId, { msgtype: "m.notice", body: "a notice: .m.rule.suppress_notices" });
      await send(bob, roomId, { msgtype: "m.text", body: "bob's own cheese" });
      assert.deepEqual(await counts(bob, roomId), { notification_count: 2, highlight_count: 1 });
    });

    it("counts only mentions in a room muted by a room rule, and nothing in one muted by an override rule", async () => {
      // A room rule comes after the override rules (modules/push.md#push-rules), .m.rule.is_user_mention among them.
      const mentionsOnly = await roomWithBob();
      await putRule(bob, "room", mentionsOnly, { actions: [] });
      await send(alice, mentionsOnly, { msgtype: "m.text", body: "anyone?" });
      await send(alice, mentionsOnly, { msgtype: "m.text", body: "bob?", "m.mentions": { user_ids: [bob.userId] } });
      assert.deepEqual(await counts(bob, mentionsOnly), { notification_count: 1, highlight_count: 1 });
      const muted = await roomWithBob();
      await putRule(bob, "override", muted, { conditions: [{ kind: "event_match", key: "room_id", pattern: muted }], actions: [] });
      await send(alice, muted, { msgtype: "m.text", body: "bob?", "m.mentions": { user_ids: [bob.userId] } });
      assert.deepEqual(await counts(bob, muted), { notification_count: 0, highlight_count: 0 });
    });

    it("highlights an @room mention from a member whose power level allows it (.m.rule.is_room_mention), not from one below it", async () => {
      const roomId = await roomWithBob();
      await send(alice, roomId, { msgtype: "m.text", body: "everyone!", "m.mentions": { room: true } });
      assert.deepEqual(await counts(bob, roomId), { notification_count: 1, highlight_count: 1 });
      // bob (power level 0 in a public_chat room) cannot notify the room.
      await send(bob, roomId, { msgtype: "m.text", body: "everyone?", "m.mentions": { room: true } });
      assert.deepEqual(await counts(alice, roomId), { notification_count: 1, highlight_count: 0 });
    });
  });
}
