// POST /createRoom over real HTTP on both engines (create_room.yaml): the order of the initial
// events, presets, initial_state, power_level_content_override, creation_content, invites,
// is_direct, room_alias_name, name, topic, visibility, room_version; and its error paths.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, joinedRooms, post, registerUser, startRoomsHomeserver, stateContent, timeline, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`POST /createRoom [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      await call(hs, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/displayname`, { token: alice.accessToken, body: { displayname: "Alice" } });
    });
    after(() => hs.stop());

    it("uses the configured default room version", async () => {
      const roomId = await createRoom(hs, alice, {});
      assert.equal((await stateContent(hs, roomId, "m.room.create"))?.["room_version"], hs.config.defaultRoomVersion);
    });

    it("sends the initial events in the spec's order", async () => {
      const roomId = await createRoom(hs, alice, {
        preset: "public_chat",
        room_alias_name: "ordered",
        name: "The room",
        topic: "Things",
        initial_state: [{ type: "m.room.encryption", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
        invite: [bob.userId],
      });
      const events = await timeline(hs, roomId);
      assert.deepEqual(
        events.map((e) => e.type),
        [
          "m.room.create",
          "m.room.member",
          "m.room.power_levels",
          "m.room.canonical_alias",
          "m.room.join_rules",
          "m.room.history_visibility",
          "m.room.guest_access",
          "m.room.encryption",
          "m.room.name",
          "m.room.topic",
          "m.room.member",
        ],
      );
      assert.equal(events[1]?.content["displayname"], "Alice", "the creator's profile is in the join");
      assert.deepEqual(events[3]?.content, { alias: "#ordered:test.local" });
      assert.equal(events[9]?.content["topic"], "Things");
      assert.equal(events[10]?.stateKey, bob.userId);
      assert.equal(events[10]?.content["membership"], "invite");
      assert.deepEqual(await joinedRooms(hs, alice), [roomId].concat((await joinedRooms(hs, alice)).filter((r) => r !== roomId)).sort());
    });

    it("applies each preset's join rule, history visibility and guest access", async () => {
      const expected = {
        private_chat: ["invite", "shared", "can_join"],
        trusted_private_chat: ["invite", "shared", "can_join"],
        public_chat: ["public", "shared", "forbidden"],
      };
      for (const [preset, [joinRule, history, guests]] of Object.entries(expected)) {
        const roomId = await createRoom(hs, alice, { preset, invite: [bob.userId], room_version: "10" });
        assert.equal((await stateContent(hs, roomId, "m.room.join_rules"))?.["join_rule"], joinRule, preset);
        assert.equal((await stateContent(hs, roomId, "m.room.history_visibility"))?.["history_visibility"], history, preset);
        assert.equal((await stateContent(hs, roomId, "m.room.guest_access"))?.["guest_access"], guests, preset);
        const users = (await stateContent(hs, roomId, "m.room.power_levels"))?.["users"] as Record<string, number>;
        assert.equal(users[alice.userId], 100);
        assert.equal(users[bob.userId], preset === "trusted_private_chat" ? 100 : undefined, preset);
      }
      // Without a preset, the visibility chooses one.
      const open = await createRoom(hs, alice, { visibility: "public" });
      assert.equal((await stateContent(hs, open, "m.room.join_rules"))?.["join_rule"], "public");
      const closed = await createRoom(hs, alice, {});
      assert.equal((await stateContent(hs, closed, "m.room.join_rules"))?.["join_rule"], "invite");
    });

    it("lets initial_state override the preset and name/topic override initial_state", async () => {
      const roomId = await createRoom(hs, alice, {
        preset: "private_chat",
        name: "Given name",
        initial_state: [
          { type: "m.room.join_rules", state_key: "", content: { join_rule: "public" } },
          { type: "m.room.name", content: { name: "Overwritten" } },
          { type: "org.example.custom", state_key: "k", content: { x: 1 } },
        ],
      });
      assert.equal((await stateContent(hs, roomId, "m.room.join_rules"))?.["join_rule"], "public");
      assert.equal((await stateContent(hs, roomId, "m.room.name"))?.["name"], "Given name");
      assert.deepEqual(await stateContent(hs, roomId, "org.example.custom", "k"), { x: 1 });
      const types = (await timeline(hs, roomId)).map((e) => e.type);
      assert.equal(types.filter((t) => t === "m.room.join_rules").length, 1, "the preset's join rule is not sent");
    });

    it("applies power_level_content_override and creation_content", async () => {
      const roomId = await createRoom(hs, alice, {
        room_version: "11",
        power_level_content_override: { events_default: 20, users: { [alice.userId]: 100, [bob.userId]: 42 } },
        creation_content: { "m.federate": false, type: "m.space", creator: "@mallory:test.local" },
      });
      const levels = await stateContent(hs, roomId, "m.room.power_levels");
      assert.equal(levels?.["events_default"], 20);
      assert.deepEqual(levels?.["users"], { [alice.userId]: 100, [bob.userId]: 42 });
      const create = await stateContent(hs, roomId, "m.room.create");
      assert.equal(create?.["m.federate"], false);
      assert.equal(create?.["type"], "m.space");
      assert.equal(create?.["room_version"], "11");
      assert.notEqual(create?.["creator"], "@mallory:test.local");
    });

    it("marks invites direct with is_direct, and honours room_version", async () => {
      const roomId = await createRoom(hs, alice, { invite: [bob.userId], is_direct: true, preset: "trusted_private_chat", room_version: "9" });
      assert.equal((await stateContent(hs, roomId, "m.room.member", bob.userId))?.["is_direct"], true);
      assert.equal((await stateContent(hs, roomId, "m.room.create"))?.["room_version"], "9");
    });

    it("creates v12 rooms with the creator outside the power levels and invitees as additional creators", async () => {
      const roomId = await createRoom(hs, alice, { room_version: "12", preset: "trusted_private_chat", invite: [bob.userId] });
      assert.match(roomId, /^![A-Za-z0-9_-]{43}$/);
      const levels = await stateContent(hs, roomId, "m.room.power_levels");
      assert.deepEqual(levels?.["users"], {});
      assert.equal((levels?.["events"] as Record<string, number>)["m.room.tombstone"], 150);
      assert.deepEqual((await stateContent(hs, roomId, "m.room.create"))?.["additional_creators"], [bob.userId]);
    });

    it("publishes the room with visibility public", async () => {
      const roomId = await createRoom(hs, alice, { visibility: "public", name: "Listed" });
      const visibility = await call(hs, "GET", `/_matrix/client/v3/directory/list/room/${encodeURIComponent(roomId)}`);
      assert.deepEqual(visibility.body, { visibility: "public" });
    });

    it("refuses what the spec refuses", async () => {
      assertError(await post(hs, alice, "/createRoom", { room_version: "999" }), 400, "M_UNSUPPORTED_ROOM_VERSION");
      assertError(await post(hs, alice, "/createRoom", { preset: "party" }), 400, "M_BAD_JSON");
      assertError(await post(hs, alice, "/createRoom", { invite: "not-a-list" }), 400, "M_BAD_JSON");
      assertError(await post(hs, alice, "/createRoom", { invite: ["nobody"] }), 400, "M_INVALID_PARAM");
      assertError(await post(hs, alice, "/createRoom", { room_alias_name: "bad:alias" }), 400, "M_INVALID_PARAM");
      assertError(await post(hs, alice, "/createRoom", { initial_state: [{ type: "m.room.name" }] }), 400, "M_MISSING_PARAM");
      await createRoom(hs, alice, { room_alias_name: "taken" });
      assertError(await post(hs, alice, "/createRoom", { room_alias_name: "taken" }), 400, "M_ROOM_IN_USE");
      // The creator leaves themselves without power: the next initial event is refused.
      assertError(
        await post(hs, alice, "/createRoom", { room_version: "10", power_level_content_override: { users: {}, state_default: 100 }, name: "x" }),
        400,
        "M_INVALID_ROOM_STATE",
      );
      assertError(await post(hs, undefined, "/createRoom", {}), 401, "M_MISSING_TOKEN");
    });

    it("leaves no half-made room behind when an initial event is refused", async () => {
      const before = await joinedRooms(hs, alice);
      const refused: Array<[Record<string, unknown>, number, string]> = [
        // Power levels that are not power levels.
        [{ power_level_content_override: { users: { [alice.userId]: "high" } } }, 400, "M_INVALID_ROOM_STATE"],
        // Not canonical JSON (a float): the body is malformed.
        [{ power_level_content_override: { ban: 1.5 } }, 400, "M_BAD_JSON"],
        [{ initial_state: [{ type: "m.room.power_levels", state_key: "", content: { users: { "not-a-user": 100 } } }] }, 400, "M_INVALID_ROOM_STATE"],
        // The creator without the power to send the events after the power levels.
        [{ room_version: "10", power_level_content_override: { users: {}, state_default: 100 }, name: "x" }, 400, "M_INVALID_ROOM_STATE"],
        [{ room_version: "11", power_level_content_override: { events: { "m.room.join_rules": 200 } } }, 400, "M_INVALID_ROOM_STATE"],
        // An initial event over the 65,536 bytes of a PDU (client-server-api#size-limits).
        [{ room_alias_name: "half-made", initial_state: [{ type: "m.room.topic", state_key: "", content: { topic: "x".repeat(70_000) } }] }, 413, "M_TOO_LARGE"],
        // A canonical alias naming an alias that does not point to the new room.
        [{ room_alias_name: "half-made", initial_state: [{ type: "m.room.canonical_alias", state_key: "", content: { alias: "#elsewhere:example.org" } }] }, 400, "M_BAD_ALIAS"],
      ];
      for (const [body, status, errcode] of refused) {
        assertError(await post(hs, alice, "/createRoom", body), status, errcode);
      }
      assert.deepEqual((await joinedRooms(hs, alice)).sort(), before.sort());
      // The alias of a refused creation stays free.
      const roomId = await createRoom(hs, alice, { room_alias_name: "half-made" });
      const resolved = await call(hs, "GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(`#half-made:${hs.config.serverName}`)}`);
      assert.equal(resolved.body["room_id"], roomId);
    });

    it("takes an initial canonical alias naming room_alias_name's alias", async () => {
      const alias = `#named-twice:${hs.config.serverName}`;
      const roomId = await createRoom(hs, alice, {
        room_alias_name: "named-twice",
        initial_state: [{ type: "m.room.canonical_alias", state_key: "", content: { alias, alt_aliases: [alias] } }],
      });
      assert.deepEqual(await stateContent(hs, roomId, "m.room.canonical_alias"), { alias, alt_aliases: [alias] });
    });
  });
}
