// The membership endpoints over real HTTP on both engines: join (by ID, by alias, with via),
// invite (with reason), leave, kick, ban, unban, forget, knock, restricted joins, profiles in member
// events and their propagation, /joined_rooms, the join rate limit, and the error paths.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML } from "../api/client/helpers.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  joinedRooms,
  membershipOf,
  post,
  registerUser,
  startRoomsHomeserver,
  stateContent,
  type TestUser,
} from "./helpers.ts";

for (const engine of engines) {
  describe(`room membership [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      // These tests never reach another server: the federation seams are unplugged (and faked where tested).
      hs.server.services.rooms.connectRemote({});
      [alice, bob, carol] = [await registerUser(hs, "alice"), await registerUser(hs, "bob"), await registerUser(hs, "carol")];
    });
    after(() => hs.stop());

    it("joins a public room by ID and by alias, with the profile in the member event", async () => {
      await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Bobby" } });
      await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/avatar_url`, { token: bob.accessToken, body: { avatar_url: "mxc://test.local/bob" } });
      const roomId = await createRoom(hs, alice, { preset: "public_chat", room_alias_name: "joinable" });
      const byId = await post(hs, bob, `/rooms/${enc(roomId)}/join`, { reason: "hello" });
      assert.deepEqual(byId.body, { room_id: roomId });
      const member = await stateContent(hs, roomId, "m.room.member", bob.userId);
      assert.deepEqual(member, { membership: "join", displayname: "Bobby", avatar_url: "mxc://test.local/bob", reason: "hello" });
      assert.ok((await joinedRooms(hs, bob)).includes(roomId));

      const byAlias = await post(hs, carol, `/join/${enc("#joinable:test.local")}?via=test.local&server_name=elsewhere.example`);
      assert.deepEqual(byAlias.body, { room_id: roomId });
      assert.equal(await membershipOf(hs, roomId, carol.userId), "join");
      // Joining again is no error, and changes nothing.
      assert.equal((await post(hs, carol, `/join/${enc(roomId)}`)).status, 200);
    });

    it("refuses joins the room does not allow, and unknown rooms", async () => {
      const roomId = await createRoom(hs, alice, { preset: "private_chat" });
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
      assertError(await post(hs, bob, `/join/${enc("!unknown:test.local")}`), 404, "M_NOT_FOUND");
      assertError(await post(hs, bob, `/join/${enc("!unknown:elsewhere.example")}?via=elsewhere.example`), 404, "M_NOT_FOUND");
      assertError(await post(hs, bob, `/join/${enc("#missing:test.local")}`), 404, "M_NOT_FOUND");
      assertError(await post(hs, bob, `/join/${enc("#remote:elsewhere.example")}`), 404, "M_NOT_FOUND");
      assertError(await post(hs, bob, `/join/not-a-room`), 400, "M_INVALID_PARAM");
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/join`, { reason: 5 }), 400, "M_BAD_JSON");
      assertError(await post(hs, undefined, `/rooms/${enc(roomId)}/join`), 401, "M_MISSING_TOKEN");
    });

    it("invites with a reason, then the invitee joins; rejects invites by leaving", async () => {
      const roomId = await createRoom(hs, alice, { preset: "private_chat" });
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId, reason: "come in" })).status, 200);
      const invite = await stateContent(hs, roomId, "m.room.member", bob.userId);
      assert.equal(invite?.["membership"], "invite");
      assert.equal(invite?.["reason"], "come in");
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
      assert.equal(await membershipOf(hs, roomId, bob.userId), "join");

      await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId });
      assert.equal((await post(hs, carol, `/rooms/${enc(roomId)}/leave`, { reason: "no thanks" })).status, 200);
      assert.deepEqual(await stateContent(hs, roomId, "m.room.member", carol.userId), { membership: "leave", reason: "no thanks" });

      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId }), 403, "M_FORBIDDEN");
      assertError(await post(hs, carol, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/invite`, {}), 400, "M_MISSING_PARAM");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: "bob" }), 400, "M_INVALID_PARAM");
      assertError(await post(hs, alice, `/rooms/${enc("!nope:test.local")}/invite`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
    });

    it("invites a remote user as a plain invite event when no federation inviter is plugged in", async () => {
      const roomId = await createRoom(hs, alice, { preset: "private_chat" });
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: "@dave:elsewhere.example" })).status, 200);
      assert.equal(await membershipOf(hs, roomId, "@dave:elsewhere.example"), "invite");
    });

    it("goes through the federation seams for rooms this server is not in", async () => {
      const calls: unknown[][] = [];
      const rooms = hs.server.services.rooms;
      rooms.connectRemote({
        joiner: { join: async (...args) => (calls.push(["join", ...args]), { roomId: "!far:elsewhere.example" }) },
        knocker: { knock: async (...args) => (calls.push(["knock", ...args]), { roomId: "!far:elsewhere.example" }) },
        leaver: { leave: async (...args) => void calls.push(["leave", ...args]) },
        inviter: { invite: async (request) => (calls.push(["invite", request.invitee, request.content["membership"]]), { eventId: "$x" }) },
        aliases: { resolveAlias: async (alias) => (alias === "#far:elsewhere.example" ? { roomId: "!far:elsewhere.example", servers: ["elsewhere.example"] } : undefined) },
      });
      try {
        const joined = await post(hs, bob, `/join/${enc("#far:elsewhere.example")}?via=third.example`, { reason: "hi" });
        assert.deepEqual(joined.body, { room_id: "!far:elsewhere.example" });
        const [kind, userId, roomId, via, content] = calls[0] as [string, string, string, string[], Record<string, unknown>];
        assert.deepEqual([kind, userId, roomId, via], ["join", bob.userId, "!far:elsewhere.example", ["third.example", "elsewhere.example"]]);
        assert.equal(content["membership"], "join");
        assert.equal(content["reason"], "hi");
        assert.deepEqual((await post(hs, bob, `/knock/${enc("!far:elsewhere.example")}`)).body, { room_id: "!far:elsewhere.example" });
        assert.equal((calls[1] as string[])[0], "knock");
        assert.equal((await post(hs, bob, `/rooms/${enc("!far:elsewhere.example")}/leave`)).status, 200);
        assert.deepEqual((calls[2] as unknown[]).slice(0, 4), ["leave", bob.userId, "!far:elsewhere.example", ["elsewhere.example"]]);
        const roomId2 = await createRoom(hs, alice, { preset: "private_chat" });
        assert.equal((await post(hs, alice, `/rooms/${enc(roomId2)}/invite`, { user_id: "@erin:elsewhere.example" })).status, 200);
        assert.deepEqual(calls[3], ["invite", "@erin:elsewhere.example", "invite"]);
        assert.equal((await call(hs, "GET", `/_matrix/client/v3/directory/room/${enc("#far:elsewhere.example")}`)).body["room_id"], "!far:elsewhere.example");
      } finally {
        rooms.connectRemote({});
      }
    });

    it("leaves; leaving twice is no error; leaving a room never joined is", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/leave`)).status, 200);
      assert.equal(await membershipOf(hs, roomId, bob.userId), "leave");
      assert.ok(!(await joinedRooms(hs, bob)).includes(roomId));
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/leave`)).status, 200);
      assertError(await post(hs, carol, `/rooms/${enc(roomId)}/leave`), 403, "M_FORBIDDEN");
      const unknown = await post(hs, carol, `/rooms/${enc("!unknown:test.local")}/leave`);
      assertError(unknown, 404, "M_NOT_FOUND");
      assert.equal(unknown.body["error"], "Unknown room");
    });

    it("kicks, bans and unbans with the power to, and not without", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat", room_version: "10" });
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      await post(hs, carol, `/rooms/${enc(roomId)}/join`);
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId, reason: "out" })).status, 200);
      assert.deepEqual(await stateContent(hs, roomId, "m.room.member", carol.userId), { membership: "leave", reason: "out" });
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      // A kicked user may come back to a public room.
      assert.equal((await post(hs, carol, `/rooms/${enc(roomId)}/join`)).status, 200);

      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/ban`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/ban`, { user_id: carol.userId, reason: "spam" })).status, 200);
      assert.equal(await membershipOf(hs, roomId, carol.userId), "ban");
      assertError(await post(hs, carol, `/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/unban`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/unban`, { user_id: carol.userId })).status, 200);
      assert.equal(await membershipOf(hs, roomId, carol.userId), "leave");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/unban`, { user_id: carol.userId }), 403, "M_FORBIDDEN");
      assert.equal((await post(hs, carol, `/rooms/${enc(roomId)}/join`)).status, 200);
      // Banning someone who never came is allowed (pre-emptive bans).
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/ban`, { user_id: "@troll:elsewhere.example" })).status, 200);
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/ban`, {}), 400, "M_MISSING_PARAM");
    });

    it("forgets a room only after leaving it", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/forget`), 400, "M_UNKNOWN");
      await post(hs, bob, `/rooms/${enc(roomId)}/leave`);
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/forget`)).status, 200);
      const index = hs.server.services.rooms.membershipIndex;
      assert.equal(await index.isForgotten(bob.userId, roomId), true);
      assert.equal((await index.roomsForUser(bob.userId)).find((r) => r.roomId === roomId)?.forgotten, true);
      // Joining again clears it.
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assert.equal(await index.isForgotten(bob.userId, roomId), false);
      assert.equal((await post(hs, carol, `/rooms/${enc("!never:test.local")}/forget`)).status, 200);
    });

    it("knocks on a knockable room; the knock is accepted by an invite", async () => {
      const roomId = await createRoom(hs, alice, { room_version: "10", initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }] });
      const knocked = await post(hs, bob, `/knock/${enc(roomId)}`, { reason: "let me in" });
      assert.deepEqual(knocked.body, { room_id: roomId });
      assert.equal((await stateContent(hs, roomId, "m.room.member", bob.userId))?.["reason"], "let me in");
      // "Users who are currently in the room, already invited, or banned cannot knock."
      assertError(await post(hs, alice, `/knock/${enc(roomId)}`), 403, "M_FORBIDDEN");
      await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);

      const closed = await createRoom(hs, alice, { preset: "private_chat", room_version: "10" });
      assertError(await post(hs, carol, `/knock/${enc(closed)}`), 403, "M_FORBIDDEN");
      const old = await createRoom(hs, alice, { preset: "private_chat", room_version: "6" });
      assertError(await post(hs, carol, `/knock/${enc(old)}`), 403, "M_FORBIDDEN");
      assertError(await post(hs, carol, `/knock/${enc("!unknown:test.local")}`), 404, "M_NOT_FOUND");
    });

    it("joins a restricted room through membership of an allowed room, authorised by a local member", async () => {
      const space = await createRoom(hs, alice, { preset: "public_chat", room_version: "10" });
      const restricted = await createRoom(hs, alice, {
        room_version: "10",
        initial_state: [{ type: "m.room.join_rules", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] } }],
      });
      assertError(await post(hs, carol, `/rooms/${enc(restricted)}/join`), 403, "M_FORBIDDEN");
      await post(hs, carol, `/rooms/${enc(space)}/join`);
      assert.equal((await post(hs, carol, `/rooms/${enc(restricted)}/join`)).status, 200);
      const member = await stateContent(hs, restricted, "m.room.member", carol.userId);
      assert.equal(member?.["join_authorised_via_users_server"], alice.userId);
    });

    it("copies profile changes into the member events of every joined room", async () => {
      const first = await createRoom(hs, alice, { preset: "public_chat" });
      const second = await createRoom(hs, alice, { preset: "public_chat" });
      const left = await createRoom(hs, alice, { preset: "public_chat" });
      for (const roomId of [first, second, left]) await post(hs, carol, `/rooms/${enc(roomId)}/join`);
      await post(hs, carol, `/rooms/${enc(left)}/leave`);
      await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(carol.userId)}/displayname`, { token: carol.accessToken, body: { displayname: "Caroline" } });
      await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(carol.userId)}/avatar_url`, { token: carol.accessToken, body: { avatar_url: "mxc://test.local/c" } });
      for (const roomId of [first, second]) {
        const member = await stateContent(hs, roomId, "m.room.member", carol.userId);
        assert.equal(member?.["membership"], "join");
        assert.equal(member?.["displayname"], "Caroline");
        assert.equal(member?.["avatar_url"], "mxc://test.local/c");
      }
      assert.equal(await membershipOf(hs, left, carol.userId), "leave");
      await call(hs, "DELETE", `/_matrix/client/v3/profile/${enc(carol.userId)}/avatar_url`, { token: carol.accessToken });
      assert.equal((await stateContent(hs, first, "m.room.member", carol.userId))?.["avatar_url"], undefined);
    });

    it("lists joined rooms", async () => {
      const dave = await registerUser(hs, "dave");
      assert.deepEqual(await joinedRooms(hs, dave), []);
      const a = await createRoom(hs, dave);
      const b = await createRoom(hs, dave);
      assert.deepEqual(await joinedRooms(hs, dave), [a, b].sort());
      await post(hs, dave, `/rooms/${enc(a)}/leave`);
      assert.deepEqual(await joinedRooms(hs, dave), [b]);
      assertError(await call(hs, "GET", "/_matrix/client/v3/joined_rooms"), 401, "M_MISSING_TOKEN");
    });
  });

  describe(`room membership: the join rate limit [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: [ACCOUNTS_YAML, "rc_joins:", "  local: {per_second: 0.001, burst_count: 2}"].join("\n") });
    });
    after(() => hs.stop());

    it("limits joins with rc_joins_local", async () => {
      const alice = await registerUser(hs, "alice");
      const bob = await registerUser(hs, "bob");
      const roomId = await createRoom(hs, alice, { preset: "public_chat" });
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/join`), 429, "M_LIMIT_EXCEEDED");
    });
  });
}
