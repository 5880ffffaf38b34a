// The published room directory over real HTTP on both engines (list_public_rooms.yaml): visibility
// get/set with its permission and error paths, and /publicRooms with summaries, ordering,
// pagination, generic_search_term and room_types.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

const list = (roomId: string): string => `/_matrix/client/v3/directory/list/room/${enc(roomId)}`;

for (const engine of engines) {
  describe(`published room directory [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("gets and sets a room's visibility, for those allowed to", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat", room_version: "10" });
      assert.deepEqual((await call(hs, "GET", list(roomId))).body, { visibility: "private" });
      assert.equal((await call(hs, "PUT", list(roomId), { token: alice.accessToken, body: { visibility: "public" } })).status, 200);
      assert.deepEqual((await call(hs, "GET", list(roomId))).body, { visibility: "public" });
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assertError(await call(hs, "PUT", list(roomId), { token: bob.accessToken, body: { visibility: "private" } }), 403, "M_FORBIDDEN");
      assert.equal((await call(hs, "PUT", list(roomId), { token: alice.accessToken, body: { visibility: "private" } })).status, 200);
      assert.deepEqual((await call(hs, "GET", list(roomId))).body, { visibility: "private" });
      assertError(await call(hs, "GET", list("!unknown:test.local")), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", list("!unknown:test.local"), { token: alice.accessToken, body: { visibility: "public" } }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", list(roomId), { token: alice.accessToken, body: { visibility: "hidden" } }), 400, "M_BAD_JSON");
    });

    it("lists published rooms with their summaries, largest first, a page at a time", async () => {
      const big = await createRoom(hs, alice, {
        visibility: "public",
        preset: "public_chat",
        name: "Big Room",
        topic: "Lots of people",
        room_alias_name: "big",
        initial_state: [
          { type: "m.room.history_visibility", content: { history_visibility: "world_readable" } },
          { type: "m.room.avatar", content: { url: "mxc://test.local/avatar" } },
        ],
      });
      await post(hs, bob, `/rooms/${enc(big)}/join`);
      const small = await createRoom(hs, bob, { visibility: "public", preset: "private_chat", name: "Small space", creation_content: { type: "m.space" } });
      await createRoom(hs, bob, { name: "Unlisted" });

      const all = await call(hs, "GET", "/_matrix/client/v3/publicRooms");
      const chunk = all.body["chunk"] as Array<Record<string, unknown>>;
      const ours = chunk.filter((c) => c["room_id"] === big || c["room_id"] === small);
      assert.deepEqual(ours[0], {
        room_id: big,
        name: "Big Room",
        topic: "Lots of people",
        canonical_alias: "#big:test.local",
        avatar_url: "mxc://test.local/avatar",
        num_joined_members: 2,
        world_readable: true,
        guest_can_join: false,
        join_rule: "public",
      });
      assert.equal(ours[1]?.["room_type"], "m.space");
      assert.equal(ours[1]?.["join_rule"], "invite");
      assert.ok(!chunk.some((c) => c["name"] === "Unlisted"));
      assert.equal(all.body["total_room_count_estimate"], chunk.length);

      const first = await call(hs, "GET", "/_matrix/client/v3/publicRooms?limit=1");
      assert.equal((first.body["chunk"] as unknown[]).length, 1);
      assert.equal(first.body["prev_batch"], undefined);
      const next = first.body["next_batch"] as string;
      const second = await call(hs, "GET", `/_matrix/client/v3/publicRooms?limit=1&since=${enc(next)}`);
      assert.notDeepEqual(second.body["chunk"], first.body["chunk"]);
      assert.equal(typeof second.body["prev_batch"], "string");
      assertError(await call(hs, "GET", "/_matrix/client/v3/publicRooms?since=garbage"), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", "/_matrix/client/v3/publicRooms?limit=-1"), 400, "M_INVALID_PARAM");
    });

    it("filters by generic_search_term and room_types", async () => {
      const found = await createRoom(hs, alice, { visibility: "public", name: "Cheese lovers", topic: "Tasty" });
      const space = await createRoom(hs, alice, { visibility: "public", name: "A space", creation_content: { type: "m.space" } });
      const search = await post(hs, alice, "/publicRooms", { filter: { generic_search_term: "CHEESE" } });
      assert.deepEqual((search.body["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"]), [found]);
      const spaces = await post(hs, alice, "/publicRooms", { filter: { room_types: ["m.space"] } });
      const ids = (spaces.body["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"]);
      assert.ok(ids.includes(space) && !ids.includes(found));
      const plain = await post(hs, alice, "/publicRooms", { filter: { room_types: [null] } });
      const plainIds = (plain.body["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"]);
      assert.ok(plainIds.includes(found) && !plainIds.includes(space));
      assertError(await post(hs, alice, "/publicRooms", { limit: "ten" }), 400, "M_BAD_JSON");
      assertError(await post(hs, undefined, "/publicRooms", {}), 401, "M_MISSING_TOKEN");
      // Another server's directory is asked over federation, for users of ours only.
      assertError(await call(hs, "GET", "/_matrix/client/v3/publicRooms?server=elsewhere.example"), 401, "M_MISSING_TOKEN");
      assertError(await call(hs, "GET", "/_matrix/client/v3/publicRooms?server=not%20a%20server", { token: alice.accessToken }), 400, "M_INVALID_PARAM");
      // Our own name is our own directory.
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/publicRooms?server=test.local")).status, 200);
    });
  });
}
