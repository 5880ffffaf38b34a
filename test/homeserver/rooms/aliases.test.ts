// Room aliases over real HTTP on both engines (directory.yaml): creating, resolving and deleting
// aliases with their permission and error paths, the room's local aliases, and the check of
// m.room.canonical_alias content the state endpoint makes (room_state.yaml).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MatrixError } from "../../../src/core/errors.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, stateContent, type TestUser } from "./helpers.ts";

const dir = (alias: string): string => `/_matrix/client/v3/directory/room/${enc(alias)}`;

for (const engine of engines) {
  describe(`room aliases [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let roomId: string;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      // Aliases of other servers are not resolved here (the membership tests fake the federation seam).
      hs.server.services.rooms.connectRemote({});
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      roomId = await createRoom(hs, alice, { preset: "public_chat", room_version: "10" });
    });
    after(() => hs.stop());

    it("creates, resolves and deletes an alias", async () => {
      assert.equal((await call(hs, "PUT", dir("#home:test.local"), { token: alice.accessToken, body: { room_id: roomId } })).status, 200);
      const resolved = await call(hs, "GET", dir("#home:test.local"));
      assert.deepEqual(resolved.body, { room_id: roomId, servers: ["test.local"] });
      const listed = await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`, { token: alice.accessToken });
      assert.deepEqual(listed.body, { aliases: ["#home:test.local"] });
      assert.equal((await call(hs, "DELETE", dir("#home:test.local"), { token: alice.accessToken })).status, 200);
      assertError(await call(hs, "GET", dir("#home:test.local")), 404, "M_NOT_FOUND");
      assertError(await call(hs, "DELETE", dir("#home:test.local"), { token: alice.accessToken }), 404, "M_NOT_FOUND");
    });

    it("refuses bad, foreign, taken and unauthorised aliases", async () => {
      assertError(await call(hs, "PUT", dir("nohash"), { token: alice.accessToken, body: { room_id: roomId } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", dir("#x:elsewhere.example"), { token: alice.accessToken, body: { room_id: roomId } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", dir("#x:test.local"), { token: alice.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", dir("#x:test.local"), { token: alice.accessToken, body: { room_id: "!unknown:test.local" } }), 404, "M_NOT_FOUND");
      // Only members may point an alias at a room.
      assertError(await call(hs, "PUT", dir("#x:test.local"), { token: bob.accessToken, body: { room_id: roomId } }), 403, "M_FORBIDDEN");
      assert.equal((await call(hs, "PUT", dir("#taken:test.local"), { token: alice.accessToken, body: { room_id: roomId } })).status, 200);
      assertError(await call(hs, "PUT", dir("#taken:test.local"), { token: alice.accessToken, body: { room_id: roomId } }), 409, "M_UNKNOWN");
      assertError(await call(hs, "GET", dir("#x:elsewhere.example")), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", dir("bad")), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", dir("#x:test.local"), { body: { room_id: roomId } }), 401, "M_MISSING_TOKEN");
    });

    it("lets the alias's creator or a room admin delete it, and nobody else", async () => {
      await post(hs, bob, `/rooms/${enc(roomId)}/join`);
      assert.equal((await call(hs, "PUT", dir("#bobs:test.local"), { token: bob.accessToken, body: { room_id: roomId } })).status, 200);
      assert.equal((await call(hs, "PUT", dir("#alices:test.local"), { token: alice.accessToken, body: { room_id: roomId } })).status, 200);
      assertError(await call(hs, "DELETE", dir("#alices:test.local"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assert.equal((await call(hs, "DELETE", dir("#bobs:test.local"), { token: bob.accessToken })).status, 200);
      assert.equal((await call(hs, "PUT", dir("#bobs2:test.local"), { token: bob.accessToken, body: { room_id: roomId } })).status, 200);
      // Alice, with power 100, may remove Bob's.
      assert.equal((await call(hs, "DELETE", dir("#bobs2:test.local"), { token: alice.accessToken })).status, 200);
    });

    it("answers the room's local aliases to members, and to anyone when world_readable", async () => {
      const carol = await registerUser(hs, "carol");
      assertError(await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`, { token: carol.accessToken }), 403, "M_FORBIDDEN");
      const open = await createRoom(hs, alice, {
        room_alias_name: "readable",
        initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }],
      });
      const listed = await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(open)}/aliases`, { token: carol.accessToken });
      assert.deepEqual(listed.body, { aliases: ["#readable:test.local"] });
      assertError(await call(hs, "GET", `/_matrix/client/v3/rooms/${enc("!unknown:test.local")}/aliases`, { token: carol.accessToken }), 403, "M_FORBIDDEN");
    });

    it("takes a deleted alias out of m.room.canonical_alias", async () => {
      const room = await createRoom(hs, alice, { room_alias_name: "canon" });
      assert.equal((await call(hs, "PUT", dir("#alt:test.local"), { token: alice.accessToken, body: { room_id: room } })).status, 200);
      await hs.server.services.roomserver.createLocalEvent({
        roomId: room,
        type: "m.room.canonical_alias",
        stateKey: "",
        sender: alice.userId,
        content: { alias: "#canon:test.local", alt_aliases: ["#alt:test.local"] },
      });
      await call(hs, "DELETE", dir("#alt:test.local"), { token: alice.accessToken });
      assert.deepEqual(await stateContent(hs, room, "m.room.canonical_alias"), { alias: "#canon:test.local", alt_aliases: [] });
      await call(hs, "DELETE", dir("#canon:test.local"), { token: alice.accessToken });
      assert.deepEqual(await stateContent(hs, room, "m.room.canonical_alias"), { alt_aliases: [] });
    });

    it("validates m.room.canonical_alias content for the state endpoint", async () => {
      const { aliases } = hs.server.services.rooms;
      const room = await createRoom(hs, alice, { room_alias_name: "valid" });
      await createRoom(hs, alice, { room_alias_name: "other" });
      await aliases.validateCanonicalAlias(room, { alias: "#valid:test.local", alt_aliases: [] });
      await aliases.validateCanonicalAlias(room, {});
      const rejects = async (content: Record<string, unknown>, errcode: string): Promise<void> => {
        await assert.rejects(aliases.validateCanonicalAlias(room, content as never), (err: unknown) => err instanceof MatrixError && err.errcode === errcode);
      };
      await rejects({ alias: "not an alias" }, "M_INVALID_PARAM");
      await rejects({ alt_aliases: "#valid:test.local" }, "M_INVALID_PARAM");
      await rejects({ alt_aliases: [5] }, "M_INVALID_PARAM");
      await rejects({ alias: "#other:test.local" }, "M_BAD_ALIAS");
      await rejects({ alt_aliases: ["#missing:test.local"] }, "M_BAD_ALIAS");
      await rejects({ alias: "#far:elsewhere.example" }, "M_BAD_ALIAS");
    });
  });
}
