// POST /rooms/{roomId}/upgrade over real HTTP on both engines (modules/room_upgrades.md): the
// replacement room's predecessor link and copied state, the moved aliases and directory entry, the
// tombstone, the old room's restricted power levels; and the error paths.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, stateContent, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`room upgrades [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("replaces the room, copying its state and moving its aliases", async () => {
      const old = await createRoom(hs, alice, {
        room_version: "9",
        preset: "public_chat",
        visibility: "public",
        name: "Old name",
        topic: "Old topic",
        room_alias_name: "upgraded",
        creation_content: { type: "org.example.kind" },
        power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 60 } },
        initial_state: [{ type: "m.room.encryption", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await post(hs, bob, `/rooms/${enc(old)}/join`);
      const reply = await post(hs, alice, `/rooms/${enc(old)}/upgrade`, { new_version: "10" });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const replacement = reply.body["replacement_room"] as string;

      const create = await stateContent(hs, replacement, "m.room.create");
      assert.equal(create?.["room_version"], "10");
      assert.equal(create?.["type"], "org.example.kind");
      assert.equal((create?.["predecessor"] as Record<string, unknown>)["room_id"], old);
      assert.equal(typeof (create?.["predecessor"] as Record<string, unknown>)["event_id"], "string");
      assert.equal((await stateContent(hs, replacement, "m.room.name"))?.["name"], "Old name");
      assert.equal((await stateContent(hs, replacement, "m.room.topic"))?.["topic"], "Old topic");
      assert.equal((await stateContent(hs, replacement, "m.room.join_rules"))?.["join_rule"], "public");
      assert.equal((await stateContent(hs, replacement, "m.room.encryption"))?.["algorithm"], "m.megolm.v1.aes-sha2");
      assert.deepEqual((await stateContent(hs, replacement, "m.room.power_levels"))?.["users"], { [alice.userId]: 100, [bob.userId]: 60 });
      assert.equal(await stateContent(hs, replacement, "m.room.member", bob.userId), undefined, "memberships are not copied");

      assert.deepEqual((await call(hs, "GET", `/_matrix/client/v3/directory/room/${enc("#upgraded:test.local")}`)).body["room_id"], replacement);
      assert.deepEqual(await stateContent(hs, replacement, "m.room.canonical_alias"), { alias: "#upgraded:test.local" });
      assert.deepEqual((await call(hs, "GET", `/_matrix/client/v3/directory/list/room/${enc(replacement)}`)).body, { visibility: "public" });
      assert.deepEqual((await call(hs, "GET", `/_matrix/client/v3/directory/list/room/${enc(old)}`)).body, { visibility: "private" });

      assert.deepEqual(await stateContent(hs, old, "m.room.tombstone"), { body: "This room has been replaced", replacement_room: replacement });
      const oldLevels = await stateContent(hs, old, "m.room.power_levels");
      assert.equal(oldLevels?.["events_default"], 50);
      assert.equal(oldLevels?.["invite"], 50);
      // The members are not moved: they join the replacement themselves.
      assert.equal((await post(hs, bob, `/rooms/${enc(replacement)}/join`)).status, 200);
    });

    it("upgrades to v12 with the upgrader as creator, off the power levels", async () => {
      const old = await createRoom(hs, alice, { room_version: "10", preset: "private_chat" });
      const reply = await post(hs, alice, `/rooms/${enc(old)}/upgrade`, { new_version: "12", additional_creators: [bob.userId] });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const replacement = reply.body["replacement_room"] as string;
      const levels = await stateContent(hs, replacement, "m.room.power_levels");
      assert.deepEqual(levels?.["users"], {});
      assert.ok(((levels?.["events"] as Record<string, number>)["m.room.tombstone"] ?? 0) > 50);
      assert.deepEqual((await stateContent(hs, replacement, "m.room.create"))?.["additional_creators"], [bob.userId]);
    });

    it("refuses upgrades the user may not make, and unknown versions or rooms", async () => {
      const roomId = await createRoom(hs, alice, { room_version: "10", preset: "public_chat" });
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assertError(await post(hs, bob, `/rooms/${enc(roomId)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/upgrade`, { new_version: "999" }), 400, "M_UNSUPPORTED_ROOM_VERSION");
      assertError(await post(hs, alice, `/rooms/${enc(roomId)}/upgrade`, {}), 400, "M_MISSING_PARAM");
      assertError(await post(hs, alice, `/rooms/${enc("!unknown:test.local")}/upgrade`, { new_version: "11" }), 404, "M_NOT_FOUND");
      const carol = await registerUser(hs, "carol");
      assertError(await post(hs, carol, `/rooms/${enc(roomId)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN");
    });
  });
}
