// POST /user_directory/search (users.yaml) over real HTTP on both engines: who is searched (users
// sharing a room, users of rooms with a public join rule or world_readable history), matching on
// user ID and display name, the limit, and the error answers.
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

    it("refuses a missing term and a limit below one", async () => {
      assertError(await search(alice, {}), 400, "M_MISSING_PARAM");
      assertError(await search(alice, { search_term: "x", limit: 0 }), 400, "M_INVALID_PARAM");
      assertError(await search(alice, { search_term: 5 }), 400, "M_BAD_JSON");
    });
  });
}
