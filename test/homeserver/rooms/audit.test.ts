// Audit of the room and membership endpoints against the spec, over real HTTP on both engines:
// each test covers a discrepancy found and fixed (the spec section is named in each).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, membershipOf, post, registerGuest, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`rooms audit [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine, "allow_guest_access: true");
      hs.server.services.rooms.connectRemote({});
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    // modules/guest_access.md "Server behaviour": once m.room.guest_access stops being can_join,
    // the server MUST set its guests' membership to leave: done when the change is answered.
    it("makes the guests leave when guest access is revoked, and only the guests", async () => {
      const guest = await registerGuest(hs);
      const roomId = await createRoom(hs, alice, { preset: "public_chat", initial_state: [{ type: "m.room.guest_access", content: { guest_access: "can_join" } }] });
      assert.equal((await post(hs, guest, `/rooms/${enc(roomId)}/join`)).status, 200);
      assert.equal((await post(hs, bob, `/rooms/${enc(roomId)}/join`)).status, 200);
      const revoked = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.guest_access/`, {
        token: alice.accessToken,
        body: { guest_access: "forbidden" },
      });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal(await membershipOf(hs, roomId, guest.userId), "leave", "the guest has left");
      assert.equal(await membershipOf(hs, roomId, bob.userId), "join", "a full user stays");
      assert.equal(await membershipOf(hs, roomId, alice.userId), "join");
      // And the guest may not come back while guest access is forbidden.
      assertError(await post(hs, guest, `/rooms/${enc(roomId)}/join`), 403, "M_FORBIDDEN");
    });

    // modules/guest_access.md lists POST /rooms/{roomId}/join for guests; POST /join/{roomIdOrAlias}
    // with a room ID is the same request (matrix-js-sdk's joinRoom and sytest's guest tests make it).
    it("lets a guest join by room ID through /join/{roomIdOrAlias}", async () => {
      const guest = await registerGuest(hs);
      const open = await createRoom(hs, alice, { preset: "public_chat", initial_state: [{ type: "m.room.guest_access", content: { guest_access: "can_join" } }] });
      const closed = await createRoom(hs, alice, { preset: "public_chat" });
      const joined = await post(hs, guest, `/join/${enc(open)}`);
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      assert.deepEqual(joined.body, { room_id: open });
      assert.equal(await membershipOf(hs, open, guest.userId), "join");
      // The room's guest access still decides.
      assertError(await post(hs, guest, `/join/${enc(closed)}`), 403, "M_FORBIDDEN");
    });

    // modules/room_upgrades.md "Server behaviour": "When a user joins the new room, the server should
    // automatically transfer/replicate some of the user's personalized settings such as notifications, tags".
    it("copies the room push rule and tags of the old room to the upgrader and to those who join the new room", async () => {
      const old = await createRoom(hs, alice, { room_version: "10", preset: "public_chat" });
      assert.equal((await post(hs, bob, `/rooms/${enc(old)}/join`)).status, 200);
      for (const user of [alice, bob]) {
        const rule = await call(hs, "PUT", `/_matrix/client/v3/pushrules/global/room/${enc(old)}`, { token: user.accessToken, body: { actions: ["dont_notify"] } });
        assert.equal(rule.status, 200, JSON.stringify(rule.body));
        const tag = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(user.userId)}/rooms/${enc(old)}/tags/u.work`, { token: user.accessToken, body: { order: 0.5 } });
        assert.equal(tag.status, 200, JSON.stringify(tag.body));
      }
      const upgraded = await post(hs, alice, `/rooms/${enc(old)}/upgrade`, { new_version: "11" });
      assert.equal(upgraded.status, 200, JSON.stringify(upgraded.body));
      const replacement = upgraded.body["replacement_room"] as string;
      assert.equal((await post(hs, bob, `/join/${enc(replacement)}`)).status, 200);
      for (const user of [alice, bob]) {
        const rule = await call(hs, "GET", `/_matrix/client/v3/pushrules/global/room/${enc(replacement)}`, { token: user.accessToken });
        assert.equal(rule.status, 200, `${user.userId}: ${JSON.stringify(rule.body)}`);
        const original = await call(hs, "GET", `/_matrix/client/v3/pushrules/global/room/${enc(old)}`, { token: user.accessToken });
        assert.deepEqual(rule.body["actions"], original.body["actions"]);
        const tags = await call(hs, "GET", `/_matrix/client/v3/user/${enc(user.userId)}/rooms/${enc(replacement)}/tags`, { token: user.accessToken });
        assert.deepEqual(tags.body, { tags: { "u.work": { order: 0.5 } } });
      }
    });

    // modules/room_upgrades.md: the same for a room created to replace another (creation_content's
    // predecessor, as clients upgrading "by hand" do): its creator joins it with its creation.
    it("copies the creator's settings into a room created with a predecessor", async () => {
      const old = await createRoom(hs, alice, { room_version: "10" });
      const rule = await call(hs, "PUT", `/_matrix/client/v3/pushrules/global/room/${enc(old)}`, { token: alice.accessToken, body: { actions: [] } });
      assert.equal(rule.status, 200, JSON.stringify(rule.body));
      const replacement = await createRoom(hs, alice, { room_version: "11", creation_content: { predecessor: { room_id: old } } });
      const copied = await call(hs, "GET", `/_matrix/client/v3/pushrules/global/room/${enc(replacement)}`, { token: alice.accessToken });
      assert.equal(copied.status, 200, JSON.stringify(copied.body));
    });
  });
}
