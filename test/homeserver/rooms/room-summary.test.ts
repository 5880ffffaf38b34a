// GET /_matrix/client/v1/room_summary/{roomIdOrAlias} (room_summary.yaml, v1.15) over real HTTP on
// both engines: the summary's fields, who may see it (without a token, as a member, through a
// restricted join rule's allowed room), and 404 for everyone else and for rooms not known here.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`GET /room_summary [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      [alice, bob, carol] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "carol")]);
    });
    after(() => hs.stop());

    const summary = (user: TestUser | undefined, roomIdOrAlias: string, path = "/_matrix/client/v1/room_summary/") =>
      call(hs, "GET", `${path}${enc(roomIdOrAlias)}`, { token: user?.accessToken });

    it("summarises a public room by ID and by alias, with or without a token", async () => {
      const roomId = await createRoom(hs, alice, {
        preset: "public_chat",
        room_version: "11",
        name: "Cheese",
        topic: "Tasty",
        room_alias_name: "cheese",
        initial_state: [{ type: "m.room.encryption", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      const alias = `#cheese:${hs.config.serverName}`;
      const expected = {
        room_id: roomId,
        name: "Cheese",
        topic: "Tasty",
        canonical_alias: alias,
        num_joined_members: 1,
        join_rule: "public",
        world_readable: false,
        guest_can_join: false,
        room_version: "11",
        encryption: "m.megolm.v1.aes-sha2",
      };
      const anonymous = await summary(undefined, roomId);
      assert.equal(anonymous.status, 200, JSON.stringify(anonymous.body));
      assert.deepEqual(anonymous.body, expected, "no membership without a token");
      assert.deepEqual((await summary(bob, alias)).body, expected, "bob has no membership in it");
      assert.deepEqual((await summary(alice, roomId)).body, { ...expected, membership: "join" });
      // MSC3266's unstable path, which matrix-js-sdk asks.
      assert.deepEqual((await summary(alice, roomId, "/_matrix/client/unstable/im.nheko.summary/summary/")).body, { ...expected, membership: "join" });
    });

    it("shows a private room to those invited to it or in it, and to nobody else", async () => {
      const roomId = await createRoom(hs, alice, { preset: "private_chat", name: "Secret" });
      assertError(await summary(undefined, roomId), 404, "M_NOT_FOUND");
      assertError(await summary(bob, roomId), 404, "M_NOT_FOUND");
      assert.equal((await post(hs, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId })).status, 200);
      const invited = await summary(bob, roomId);
      assert.equal(invited.status, 200, JSON.stringify(invited.body));
      assert.equal(invited.body["membership"], "invite");
      assert.equal(invited.body["join_rule"], "invite");
    });

    it("shows a restricted room to members of a room it allows, with allowed_room_ids", async () => {
      const space = await createRoom(hs, alice, { preset: "public_chat" });
      const roomId = await createRoom(hs, alice, {
        room_version: "10",
        initial_state: [{ type: "m.room.join_rules", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] } }],
      });
      assertError(await summary(carol, roomId), 404, "M_NOT_FOUND");
      assert.equal((await post(hs, carol, `/join/${enc(space)}`)).status, 200);
      const allowed = await summary(carol, roomId);
      assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
      assert.deepEqual(allowed.body["allowed_room_ids"], [space]);
      assert.equal(allowed.body["join_rule"], "restricted");
      assert.equal(allowed.body["membership"], undefined);
      assertError(await summary(undefined, roomId), 404, "M_NOT_FOUND");
    });

    it("answers 404 for a room or alias not known here, and 400 for one that is neither", async () => {
      assertError(await summary(alice, `!unknown:${hs.config.serverName}`), 404, "M_NOT_FOUND");
      assertError(await summary(alice, `#unknown:${hs.config.serverName}`), 404, "M_NOT_FOUND");
      assertError(await summary(alice, "not-a-room"), 400, "M_INVALID_PARAM");
    });
  });
}
