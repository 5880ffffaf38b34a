// POST /user_directory/search (users.yaml) over real HTTP on both engines: who is searched (users
// sharing a room, users of rooms with a public join rule or world_readable history), matching on
// user ID and display name, the profile shown, the directory following renames and leaves, the
// limit, and the error answers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`user directory [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let dave: TestUser;
    let erin: TestUser;
    let carolsRoom: string;
    const search = (user: TestUser, body: Record<string, unknown>) => call(hs, "POST", "/_matrix/client/v3/user_directory/search", { token: user.accessToken, body });
    // A state PUT answers once the event is sent; the directory has it once the membership index has applied it.
    const settled = async () => {
      const index = hs.server.services.rooms.membershipIndex;
      await index.waitUntil(index.position);
    };
    const found = async (user: TestUser, term: string) =>
      ((await search(user, { search_term: term })).body["results"] as Array<{ user_id: string }>).map((r) => r.user_id);

    before(async () => {
      hs = await startRoomsHomeserver(engine);
      [alice, bob, carol, dave, erin] = (await Promise.all(["alice", "bob", "carol", "dave", "erin"].map((name) => registerUser(hs, `ud_${name}`)))) as [
        TestUser,
        TestUser,
        TestUser,
        TestUser,
        TestUser,
      ];
      const shared = await createRoom(hs, alice, { preset: "private_chat", invite: [bob.userId] });
      assert.equal((await post(hs, bob, `/rooms/${enc(shared)}/join`)).status, 200);
      const named = await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Bobby Tables" } });
      assert.equal(named.status, 200);
      carolsRoom = await createRoom(hs, carol, { preset: "public_chat" });
      await createRoom(hs, dave, { preset: "private_chat" });
      await createRoom(hs, erin, { preset: "private_chat", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } }] });
    });
    after(() => hs.stop());

    it("finds users sharing a room by display name, with their profile", async () => {
      const reply = await search(alice, { search_term: "bobby TAB" });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { results: [{ user_id: bob.userId, display_name: "Bobby Tables" }], limited: false });
    });

    it("finds users of public and world_readable rooms, not of private rooms the searcher is not in", async () => {
      assert.deepEqual(await found(alice, "ud_carol"), [carol.userId]);
      assert.deepEqual(await found(alice, "ud_erin"), [erin.userId]);
      assert.deepEqual(await found(alice, "ud_dave"), []);
      assert.deepEqual(await found(dave, "ud_dave"), [dave.userId], "one's own rooms count");
      // A room closed since: its users are no longer searched.
      const closed = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(carolsRoom)}/state/m.room.join_rules/`, { token: carol.accessToken, body: { join_rule: "invite" } });
      assert.equal(closed.status, 200);
      assert.deepEqual(await found(alice, "ud_carol"), []);
    });

    it("stops at the limit and says so, and takes % and _ for themselves", async () => {
      const limited = await search(alice, { search_term: "ud_", limit: 1 });
      assert.equal((limited.body["results"] as unknown[]).length, 1);
      assert.equal(limited.body["limited"], true);
      assert.deepEqual(await found(alice, "%"), []);
      assert.deepEqual(await found(alice, "ud%bob"), []);
      assert.deepEqual(await found(alice, "   "), []);
    });

    it("follows display name changes", async () => {
      const renamed = await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Robert Paulson" } });
      assert.equal(renamed.status, 200);
      await settled();
      assert.deepEqual(await found(alice, "bobby"), []);
      assert.deepEqual((await search(alice, { search_term: "PAULSON rob" })).body, { results: [{ user_id: bob.userId, display_name: "Robert Paulson" }], limited: false });
    });

    it("hides a user once they share no room with the searcher", async () => {
      const [frank, grace] = await Promise.all([registerUser(hs, "ud_frank"), registerUser(hs, "ud_grace")]);
      const room = await createRoom(hs, frank, { preset: "private_chat", invite: [grace.userId] });
      assert.equal((await post(hs, grace, `/rooms/${enc(room)}/join`)).status, 200);
      assert.deepEqual(await found(frank, "ud_grace"), [grace.userId]);
      assert.equal((await post(hs, grace, `/rooms/${enc(room)}/leave`)).status, 200);
      assert.deepEqual(await found(frank, "ud_grace"), []);
    });

    it("lets anyone find the users of a public room, with the name they have there and not one from a private room", async () => {
      const [heidi, ivan, stranger] = await Promise.all([registerUser(hs, "ud_heidi"), registerUser(hs, "ud_ivan"), registerUser(hs, "ud_stranger")]);
      const open = await createRoom(hs, heidi, { preset: "public_chat" });
      assert.equal((await post(hs, ivan, `/rooms/${enc(open)}/join`)).status, 200);
      assert.deepEqual((await search(stranger, { search_term: "ud_ivan" })).body, { results: [{ user_id: ivan.userId, display_name: "ud_ivan" }], limited: false });
      // A per-room name in a private room, joined after the public room: only its members see it.
      const hidden = await createRoom(hs, heidi, { preset: "private_chat", invite: [ivan.userId] });
      assert.equal((await post(hs, ivan, `/rooms/${enc(hidden)}/join`)).status, 200);
      const nick = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(hidden)}/state/m.room.member/${enc(ivan.userId)}`, {
        token: ivan.accessToken,
        body: { membership: "join", displayname: "Secret Squirrel" },
      });
      assert.equal(nick.status, 200);
      await settled();
      assert.deepEqual(await found(stranger, "squirrel"), []);
      assert.deepEqual((await search(stranger, { search_term: "ud_ivan" })).body, { results: [{ user_id: ivan.userId, display_name: "ud_ivan" }], limited: false });
      assert.deepEqual((await search(heidi, { search_term: "squirrel" })).body, { results: [{ user_id: ivan.userId, display_name: "Secret Squirrel" }], limited: false });
      // And the name from the public room still finds them for a stranger once it is their latest.
      const renamed = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(open)}/state/m.room.member/${enc(ivan.userId)}`, {
        token: ivan.accessToken,
        body: { membership: "join", displayname: "Ivan Ivanovich", avatar_url: "mxc://example.org/ivan" },
      });
      assert.equal(renamed.status, 200);
      await settled();
      assert.deepEqual((await search(stranger, { search_term: "ivanovich" })).body, {
        results: [{ user_id: ivan.userId, display_name: "Ivan Ivanovich", avatar_url: "mxc://example.org/ivan" }],
        limited: false,
      });
      assert.deepEqual(await found(stranger, "squirrel"), []);
    });

    it("matches words case-insensitively beyond ASCII, in user ID order", async () => {
      const [judy, ken] = await Promise.all([registerUser(hs, "ud_judy"), registerUser(hs, "ud_ken")]);
      const open = await createRoom(hs, judy, { preset: "public_chat" });
      assert.equal((await post(hs, ken, `/rooms/${enc(open)}/join`)).status, 200);
      for (const [user, name] of [[judy, "Ærøskøbing Ölsen"], [ken, "ÆRØ Ölsen"]] as const) {
        const named = await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(user.userId)}/displayname`, { token: user.accessToken, body: { displayname: name } });
        assert.equal(named.status, 200);
      }
      await settled();
      assert.deepEqual(await found(alice, "ærø ÖLSEN"), [judy.userId, ken.userId].sort());
      assert.deepEqual(await found(alice, "øbing"), [judy.userId]);
    });

    it("refuses a missing term and a limit below one", async () => {
      assertError(await search(alice, {}), 400, "M_MISSING_PARAM");
      assertError(await search(alice, { search_term: "x", limit: 0 }), 400, "M_INVALID_PARAM");
      assertError(await search(alice, { search_term: 5 }), 400, "M_BAD_JSON");
    });
  });
}
