// Guests and rooms (modules/guest_access.md) over real HTTP on both engines: a guest joins by room
// ID only rooms whose m.room.guest_access is can_join, may leave, and may not use the other
// membership or room endpoints.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, createRoom, enc, post, registerGuest, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`guests in rooms [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let guest: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine, "allow_guest_access: true");
      alice = await registerUser(hs, "alice");
      guest = await registerGuest(hs);
    });
    after(() => hs.stop());

    it("joins only rooms that let guests in, and leaves them", async () => {
      const open = await createRoom(hs, alice, { preset: "public_chat", initial_state: [{ type: "m.room.guest_access", content: { guest_access: "can_join" } }] });
      const closed = await createRoom(hs, alice, { preset: "public_chat" });
      assert.equal((await post(hs, guest, `/rooms/${enc(open)}/join`)).status, 200);
      assertError(await post(hs, guest, `/rooms/${enc(closed)}/join`), 403, "M_FORBIDDEN");
      assert.equal((await post(hs, guest, `/rooms/${enc(open)}/leave`)).status, 200);
    });

    it("may not create rooms, join by alias, invite or knock", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat", room_alias_name: "guesty" });
      assertError(await post(hs, guest, "/createRoom", {}), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await post(hs, guest, `/join/${enc("#guesty:test.local")}`), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await post(hs, guest, `/rooms/${enc(roomId)}/invite`, { user_id: alice.userId }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await post(hs, guest, `/knock/${enc(roomId)}`), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });
}
