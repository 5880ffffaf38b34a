// GET /notifications (notifications.yaml) over real HTTP on both engines: what the user's push
// rules notify them of in their rooms, newest first, `only=highlight`, paging, `read`, and the
// error answers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerGuest, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";

for (const engine of engines) {
  describe(`GET /notifications [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let room: string;
    let txn = 0;
    const sent: Record<string, string> = {};

    const send = async (user: TestUser, roomId: string, content: JsonObject): Promise<string> => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/n${++txn}`, { token: user.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body["event_id"] as string;
    };
    const list = async (user: TestUser, query = "") => {
      const reply = await call(hs, "GET", `/_matrix/client/v3/notifications${query}`, { token: user.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body as { notifications: JsonObject[]; next_token?: string };
    };
    const ids = (page: { notifications: JsonObject[] }) => page.notifications.map((n) => (n["event"] as JsonObject)["event_id"]);

    before(async () => {
      hs = await startRoomsHomeserver(engine, ["allow_guest_access: true", "rc_message: {per_second: 1000, burst_count: 1000}"].join("\n"));
      [alice, bob, carol] = (await Promise.all(["alice", "bob", "carol"].map((name) => registerUser(hs, `notif_${name}`)))) as [TestUser, TestUser, TestUser];
      room = await createRoom(hs, alice, { preset: "public_chat" });
      sent["before"] = await send(alice, room, { msgtype: "m.text", body: "before bob joined" });
      for (const user of [bob, carol]) assert.equal((await post(hs, user, `/rooms/${enc(room)}/join`)).status, 200);
      sent["m1"] = await send(alice, room, { msgtype: "m.text", body: "one" });
      sent["m2"] = await send(alice, room, { msgtype: "m.text", body: "two, bob", "m.mentions": { user_ids: [bob.userId] } });
      await send(alice, room, { msgtype: "m.notice", body: "a notice" });
      sent["m3"] = await send(alice, room, { msgtype: "m.text", body: "three" });
      sent["m4"] = await send(carol, room, { msgtype: "m.text", body: "four" });
      await send(bob, room, { msgtype: "m.text", body: "bob's own" });
      // A room bob is not in.
      await send(alice, await createRoom(hs, alice, { preset: "public_chat" }), { msgtype: "m.text", body: "elsewhere" });
    });
    after(() => hs.stop());

    it("lists what bob's rules notify him of since he joined, newest first, without his own events or notices", async () => {
      const page = await list(bob);
      assert.deepEqual(ids(page), [sent["m4"], sent["m3"], sent["m2"], sent["m1"]]);
      assert.equal(page.next_token, undefined);
      const first = page.notifications[0] as JsonObject;
      assert.deepEqual(first["actions"], ["notify"]);
      assert.equal(first["room_id"], room);
      assert.equal(first["read"], false);
      assert.equal(typeof first["ts"], "number");
      const event = first["event"] as JsonObject;
      assert.equal(event["sender"], carol.userId);
      assert.deepEqual(event["content"], { msgtype: "m.text", body: "four" });
      assert.equal("room_id" in event, false, "ClientEventWithoutRoomID");
    });

    it("keeps only highlights with only=highlight", async () => {
      const page = await list(bob, "?only=highlight");
      assert.deepEqual(ids(page), [sent["m2"]]);
      assert.deepEqual((page.notifications[0] as JsonObject)["actions"], ["notify", { set_tweak: "sound", value: "default" }, { set_tweak: "highlight" }]);
    });

    it("pages with limit and next_token", async () => {
      const first = await list(bob, "?limit=3");
      assert.deepEqual(ids(first), [sent["m4"], sent["m3"], sent["m2"]]);
      assert.equal(typeof first.next_token, "string");
      const second = await list(bob, `?limit=3&from=${enc(first.next_token as string)}`);
      assert.deepEqual(ids(second), [sent["m1"]]);
      assert.equal(second.next_token, undefined);
    });

    it("says which bob has read, by his read receipt", async () => {
      const receipt = await post(hs, bob, `/rooms/${enc(room)}/receipt/m.read/${enc(sent["m3"] as string)}`, {});
      assert.equal(receipt.status, 200, JSON.stringify(receipt.body));
      const page = await list(bob);
      assert.deepEqual(
        page.notifications.map((n) => n["read"]),
        [false, true, true, true],
      );
    });

    it("answers the spec's errors for bad parameters, no token and guests", async () => {
      assertError(await call(hs, "GET", "/_matrix/client/v3/notifications?from=abc", { token: bob.accessToken }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", "/_matrix/client/v3/notifications?limit=0", { token: bob.accessToken }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", "/_matrix/client/v3/notifications?limit=ten", { token: bob.accessToken }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", "/_matrix/client/v3/notifications"), 401, "M_MISSING_TOKEN");
      const guest = await registerGuest(hs);
      assertError(await call(hs, "GET", "/_matrix/client/v3/notifications", { token: guest.accessToken }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assert.deepEqual(await list(carol, "?only=highlight"), { notifications: [] });
    });
  });
}
