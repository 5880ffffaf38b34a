// Server notices (modules/server_notices.md) sent through Synapse's admin API
// (/_synapse/admin/v1/send_server_notice) over real HTTP on both engines: one room per user, made
// with the first notice by the system user, the user invited (joined, when they block invites) and
// the room tagged m.server_notice; the invite cannot be rejected, the room can be left once
// joined, and a later notice invites again; a retried PUT is sent once; admins only; and 400 where
// notices are not configured.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, roomPath, startEventsHomeserver, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const NOTICES_YAML = [
  ADMIN_YAML,
  "rc_message: {per_second: 10000, burst_count: 10000}",
  "server_notices:",
  "  system_mxid_localpart: notices",
  "  system_mxid_display_name: Server Notices",
  "  room_name: Notices from the admins",
  "  room_topic: Read me",
].join("\n");
const SEND = "/_synapse/admin/v1/send_server_notice";

for (const engine of engines) {
  describe(`server notices [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let system: string;

    const notice = (userId: string, body: string, extra: Record<string, unknown> = {}) =>
      call(hs, "POST", SEND, { token: admin, body: { user_id: userId, content: { msgtype: "m.server_notice", body, server_notice_type: "m.server_notice.usage_limit_reached", ...extra } } });
    const invitedRooms = async (user: TestUser): Promise<Record<string, unknown>> =>
      ((await call(hs, "GET", "/_matrix/client/v3/sync?timeout=0", { token: user.accessToken })).body["rooms"] as { invite?: Record<string, unknown> }).invite ?? {};
    const messages = async (user: TestUser, roomId: string): Promise<Array<Record<string, unknown>>> => {
      const reply = await call(hs, "GET", roomPath(roomId, "/messages?dir=b&limit=50"), { token: user.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return (reply.body["chunk"] as Array<Record<string, unknown>>).filter((e) => e["type"] === "m.room.message");
    };

    before(async () => {
      hs = await startEventsHomeserver(engine, NOTICES_YAML);
      admin = await registerAdmin(hs, "root");
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
      system = `@notices:${alice.userId.split(":")[1]}`;
    });
    after(() => hs.stop());

    it("sends the first notice in a new room from the system user, the user invited and the room tagged m.server_notice", async () => {
      const reply = await notice(alice.userId, "The server is full");
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const eventId = reply.body["event_id"] as string;
      assert.match(eventId, /^\$/);
      const invites = await invitedRooms(alice);
      const [roomId] = Object.keys(invites);
      assert.ok(roomId !== undefined, "alice is invited");
      const stripped = (invites[roomId] as { invite_state: { events: Array<Record<string, unknown>> } }).invite_state.events;
      const nameEvent = stripped.find((e) => e["type"] === "m.room.name");
      assert.equal((nameEvent?.["content"] as Record<string, unknown>)["name"], "Notices from the admins");
      const tags = await call(hs, "GET", `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags`, { token: alice.accessToken });
      assert.deepEqual(tags.body, { tags: { "m.server_notice": {} } });
      const profile = await call(hs, "GET", `/_matrix/client/v3/profile/${enc(system)}/displayname`);
      assert.deepEqual(profile.body, { displayname: "Server Notices" });

      // Once joined, alice reads the notice, sent by the system user.
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: alice.accessToken, body: {} })).status, 200);
      const [latest] = await messages(alice, roomId);
      assert.equal(latest?.["event_id"], eventId);
      assert.equal(latest?.["sender"], system);
      assert.deepEqual(latest?.["content"], { msgtype: "m.server_notice", body: "The server is full", server_notice_type: "m.server_notice.usage_limit_reached" });
      // The notices go one way: alice may not write in the room.
      const write = await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/a1"), { token: alice.accessToken, body: { msgtype: "m.text", body: "hi" } });
      assertError(write, 403, "M_FORBIDDEN");

      // The next notice comes in the same room.
      const second = await notice(alice.userId, "Still full");
      assert.equal(second.status, 200);
      assert.deepEqual((await messages(alice, roomId)).map((e) => (e["content"] as Record<string, unknown>)["body"]), ["Still full", "The server is full"]);
    });

    it("refuses to let the invite be rejected (M_CANNOT_LEAVE_SERVER_NOTICE_ROOM), lets the room be left once joined, and invites again", async () => {
      assert.equal((await notice(bob.userId, "Welcome")).status, 200);
      const [roomId] = Object.keys(await invitedRooms(bob));
      assert.ok(roomId !== undefined);
      assertError(await call(hs, "POST", roomPath(roomId, "/leave"), { token: bob.accessToken, body: {} }), 403, "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM");
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} })).status, 200);
      assert.equal((await call(hs, "POST", roomPath(roomId, "/leave"), { token: bob.accessToken, body: {} })).status, 200);
      assert.equal((await notice(bob.userId, "Come back")).status, 200);
      assert.deepEqual(Object.keys(await invitedRooms(bob)), [roomId], "invited again to the same room");
    });

    it("joins a user who blocks invites to their room, since no invite would show", async () => {
      const carol = await registerUser(hs, "carol");
      const blocked = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(carol.userId)}/account_data/m.invite_permission_config`, {
        token: carol.accessToken,
        body: { default_action: "block" },
      });
      assert.equal(blocked.status, 200);
      assert.equal((await notice(carol.userId, "Read this")).status, 200);
      const joined = (await call(hs, "GET", "/_matrix/client/v3/joined_rooms", { token: carol.accessToken })).body["joined_rooms"] as string[];
      assert.equal(joined.length, 1);
      assert.deepEqual((await messages(carol, joined[0] as string)).map((e) => (e["content"] as Record<string, unknown>)["body"]), ["Read this"]);
    });

    it("sends a retried PUT once, and a state event when given a state_key", async () => {
      const body = { user_id: alice.userId, content: { msgtype: "m.server_notice", body: "Once" } };
      const first = await call(hs, "PUT", `${SEND}/txn1`, { token: admin, body });
      const again = await call(hs, "PUT", `${SEND}/txn1`, { token: admin, body });
      assert.equal(first.status, 200);
      assert.deepEqual(again.body, first.body);
      const state = await call(hs, "POST", SEND, { token: admin, body: { user_id: alice.userId, type: "m.room.pinned_events", state_key: "", content: { pinned: [first.body["event_id"]] } } });
      assert.equal(state.status, 200, JSON.stringify(state.body));
      const roomId = (await call(hs, "GET", "/_matrix/client/v3/joined_rooms", { token: alice.accessToken })).body["joined_rooms"] as string[];
      const pinned = await Promise.all(roomId.map((id) => call(hs, "GET", roomPath(id, "/state/m.room.pinned_events/"), { token: alice.accessToken })));
      assert.ok(pinned.some((p) => p.status === 200 && JSON.stringify(p.body) === JSON.stringify({ pinned: [first.body["event_id"]] })));
    });

    it("answers errors: admins only, users of this server that exist, a body with user_id and content", async () => {
      assertError(await call(hs, "POST", SEND, { token: alice.accessToken, body: { user_id: bob.userId, content: {} } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", SEND, { body: { user_id: bob.userId, content: {} } }), 401, "M_MISSING_TOKEN");
      assertError(await notice("@nobody:elsewhere.example", "x"), 400, "M_INVALID_PARAM");
      assertError(await notice(`@ghost:${alice.userId.split(":")[1]}`, "x"), 404, "M_NOT_FOUND");
      assertError(await call(hs, "POST", SEND, { token: admin, body: { user_id: bob.userId } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", SEND, { token: admin, body: { user_id: bob.userId, content: "text" } }), 400, "M_BAD_JSON");
    });
  });

  describe(`server notices not configured [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startEventsHomeserver(engine, ADMIN_YAML);
    });
    after(() => hs.stop());

    it("answers 400 to a notice", async () => {
      const admin = await registerAdmin(hs, "root");
      const alice = await registerUser(hs, "alice");
      const reply = await call(hs, "POST", SEND, { token: admin, body: { user_id: alice.userId, content: { msgtype: "m.server_notice", body: "x" } } });
      assert.equal(reply.status, 400);
    });
  });
}
