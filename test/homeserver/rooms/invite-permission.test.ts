// Invite permission (modules/invite_permission.md, v1.18) over real HTTP on both engines: a user whose
// m.invite_permission_config says `default_action: block` cannot be invited (403 M_INVITE_BLOCKED
// from POST /invite, PUT /state/m.room.member and /createRoom's invite list, which then makes no
// room), and invites already made are not served in /sync's rooms.invite while the block holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, joinedRooms, post, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

type Json = Record<string, unknown>;

for (const engine of engines) {
  describe(`invite permission [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
    });
    after(() => hs.stop());

    const setBlocking = async (user: TestUser, content: Json): Promise<void> => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(user.userId)}/account_data/m.invite_permission_config`, { token: user.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    const invitesIn = async (user: TestUser): Promise<string[]> => {
      const reply = await call(hs, "GET", "/_matrix/client/v3/sync", { token: user.accessToken });
      return Object.keys(((reply.body["rooms"] as Json | undefined)?.["invite"] as Json | undefined) ?? {});
    };

    it("refuses every way of inviting a user who blocks invites, and lets them be invited again once lifted", async () => {
      const roomId = await createRoom(hs, alice, { preset: "private_chat" });
      await setBlocking(bob, { default_action: "block" });
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId }), 403, "M_INVITE_BLOCKED");
      assertError(
        await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`, { token: alice.accessToken, body: { membership: "invite" } }),
        403,
        "M_INVITE_BLOCKED",
      );
      const before = await joinedRooms(hs, alice);
      assertError(await post(hs, alice, "/createRoom", { invite: [bob.userId], name: "Not made" }), 403, "M_INVITE_BLOCKED");
      assert.deepEqual((await joinedRooms(hs, alice)).sort(), before.sort(), "no room was made");
      assert.deepEqual(await invitesIn(bob), []);

      // Without default_action, nothing is blocked.
      await setBlocking(bob, {});
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId })).status, 200);
      assert.deepEqual(await invitesIn(bob), [roomId]);
    });

    it("does not serve an invite made before the block over /sync while it holds, and serves it again after", async () => {
      const carol = await registerUser(hs, "carol");
      const roomId = await createRoom(hs, alice, { preset: "private_chat", invite: [carol.userId] });
      assert.deepEqual(await invitesIn(carol), [roomId]);
      await setBlocking(carol, { default_action: "block" });
      assert.deepEqual(await invitesIn(carol), []);
      // Other endpoints are not affected: the room's state still holds the invite.
      const member = await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(carol.userId)}`, { token: alice.accessToken });
      assert.equal(member.body["membership"], "invite");
      await setBlocking(carol, {});
      assert.deepEqual(await invitesIn(carol), [roomId]);
    });
  });
}
