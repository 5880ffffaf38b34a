/**
 * Knocks on a room of another server, seen through the knocker's /sync (client-server-api#knocking-on-rooms,
 * #get_matrixclientv3sync `rooms.knock` with `knock_state`; server-server-api#knocking-upon-a-room):
 * alice on A has rooms whose join rule is knock; bob of B knocks (make_knock / send_knock through
 * A). B is in none of them, so it keeps the knock as an outlier with the knock_room_state A
 * answered: bob sees it in an incremental (long-polled) and an initial sync. Then each way it can
 * end: alice lets him in (an invite, which he joins through), alice turns him away (a leave from
 * A), bob rescinds it (make_leave / send_leave through A).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { findStripped, leaveShown, memberEventIn, section, timelineOf, twoClients, type Client, type Json } from "./client-api.ts";
import { waitFor, type FederatedServer } from "./federated-server.ts";

const enc = encodeURIComponent;

function knockStateOf(response: Json, roomId: string): Json[] {
  return ((section(response, "knock", roomId)?.["knock_state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

for (const engine of engines) {
  describe(`knocks on another server's rooms reach the knocker's /sync [${engine}]`, () => {
    const clients = twoClients(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: Client;
    let bob: Client;
    before(() => ({ a, b, alice, bob } = clients));

    /** A room of alice's that anyone may knock on (client-server-api#knocking-on-rooms: join rule `knock`). */
    async function knockableRoom(name: string, roomVersion?: string): Promise<string> {
      const created = await alice.call("POST", "/_matrix/client/v3/createRoom", {
        preset: "private_chat",
        name,
        initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }],
        ...(roomVersion === undefined ? {} : { room_version: roomVersion }),
      });
      return created["room_id"] as string;
    }

    /** Bob knocks through A (a room ID of version 12 names no server: `via` does). */
    const knock = (roomId: string, reason?: string) =>
      bob.call("POST", `/_matrix/client/v3/knock/${enc(roomId)}?via=${enc(a.serverName)}`, reason === undefined ? {} : { reason });

    /** The knock shows in rooms.knock with the room's stripped state and bob's own knock last. */
    function assertKnockShown(response: Json, roomId: string, name: string, reason?: string): void {
      const state = knockStateOf(response, roomId);
      const own = findStripped(state, "m.room.member", bob.userId);
      assert.equal((own?.["content"] as Json | undefined)?.["membership"], "knock", JSON.stringify(state));
      assert.equal(own?.["sender"], bob.userId);
      if (reason !== undefined) assert.equal((own?.["content"] as Json | undefined)?.["reason"], reason);
      assert.deepEqual(state.at(-1), own);
      assert.deepEqual(findStripped(state, "m.room.join_rules")?.["content"], { join_rule: "knock" });
      assert.deepEqual(findStripped(state, "m.room.name")?.["content"], { name });
      assert.ok(findStripped(state, "m.room.create") !== undefined);
      // client-server-api#stripped-state: sender, type, state_key and content only.
      for (const event of state) assert.deepEqual(Object.keys(event).sort(), ["content", "sender", "state_key", "type"]);
      for (const other of ["join", "invite", "leave"] as const) assert.equal(section(response, other, roomId), undefined);
    }

    it("shows the knock with its knock_state; alice's invite replaces it, and bob joins through it", async () => {
      const roomId = await knockableRoom("Clubhouse");
      // The long-poll is waiting when the knock is made.
      const polled = bob.syncUntil("the knock in bob's incremental sync", (r) => section(r, "knock", roomId) !== undefined);
      assert.deepEqual(await knock(roomId, "let me in"), { room_id: roomId });
      assertKnockShown(await polled, roomId, "Clubhouse", "let me in");
      assertKnockShown(await bob.call("GET", "/_matrix/client/v3/sync"), roomId, "Clubhouse", "let me in");
      assert.equal(await a.membership(roomId, bob.userId), "knock");
      assert.deepEqual((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"], []);

      // client-server-api#knocking-on-rooms: the knock is accepted by inviting the knocker.
      await alice.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      const invited = await bob.syncUntil("the invite replacing the knock", (r) => section(r, "invite", roomId) !== undefined);
      assert.equal(section(invited, "knock", roomId), undefined);
      const initial = await bob.call("GET", "/_matrix/client/v3/sync");
      assert.equal(section(initial, "knock", roomId), undefined);
      const inviteState = ((section(initial, "invite", roomId)?.["invite_state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
      assert.equal((findStripped(inviteState, "m.room.member", bob.userId)?.["content"] as Json | undefined)?.["membership"], "invite");

      await bob.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      assert.deepEqual((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"], [roomId]);
      assert.equal(await a.membership(roomId, bob.userId), "join");
      await bob.syncUntil("the room in bob's rooms.join", (r) => section(r, "join", roomId) !== undefined);
      await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/k1`, { msgtype: "m.text", body: "welcome" });
      await bob.syncUntil("alice's message on B", (r) => timelineOf(section(r, "join", roomId)).some((e) => (e["content"] as Json)["body"] === "welcome"));
    });

    it("shows a rescinded knock (bob's leave through A) in rooms.leave", async () => {
      const roomId = await knockableRoom("Changed my mind");
      await knock(roomId);
      await bob.syncUntil("the knock", (r) => section(r, "knock", roomId) !== undefined);

      await leaveShown(bob, roomId, "knock");
      assert.equal(await a.membership(roomId, bob.userId), "leave");
      assert.equal(await b.services.federationRooms.invites.pending(roomId, bob.userId), undefined);
    });

    it("shows a knock alice turns away (her leave of bob) in rooms.leave", async () => {
      const roomId = await knockableRoom("Members only");
      await knock(roomId);
      await bob.syncUntil("the knock", (r) => section(r, "knock", roomId) !== undefined);
      await waitFor("the knock on A", async () => (await a.membership(roomId, bob.userId)) === "knock");

      await alice.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId, reason: "not today" });
      const left = await bob.syncUntil("the refusal in bob's rooms.leave", (r) => section(r, "leave", roomId) !== undefined);
      const refusal = memberEventIn(left, "leave", roomId, bob.userId);
      assert.deepEqual(refusal?.["content"], { membership: "leave", reason: "not today" });
      assert.equal(refusal?.["sender"], alice.userId);
      assert.equal(section(await bob.call("GET", "/_matrix/client/v3/sync"), "knock", roomId), undefined);
    });

    it("does the same in a room of version 10 (a room ID naming its server, knock_room_state of stripped events)", async () => {
      const roomId = await knockableRoom("Older", "10");
      await knock(roomId);
      const knocked = await bob.syncUntil("the v10 knock", (r) => section(r, "knock", roomId) !== undefined);
      assertKnockShown(knocked, roomId, "Older");
      await bob.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
      await bob.syncUntil("the v10 knock rescinded", (r) => section(r, "leave", roomId) !== undefined);
      assert.equal(await a.membership(roomId, bob.userId), "leave");
    });
  });
}
