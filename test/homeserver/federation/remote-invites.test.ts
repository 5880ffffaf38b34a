/**
 * Invites across servers, seen through the invitee's /sync (client-server-api#get_matrixclientv3sync
 * `rooms.invite` with `invite_state`; server-server-api#inviting-to-a-room): alice on A invites bob
 * of B into private rooms. B is in none of them, so it takes each invite as an outlier; bob sees it
 * in an incremental (long-polled) and an initial sync, joins one through it and talks with alice
 * both ways, and rejects another (make_leave / send_leave through A), which then shows in his
 * rooms.leave and in alice's room; an invite alice withdraws shows in his rooms.leave too.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { findStripped, leaveShown, memberEventIn, section, timelineOf, twoClients, type Client, type Json } from "./client-api.ts";
import type { FederatedServer } from "./federated-server.ts";

const enc = encodeURIComponent;

function inviteStateOf(response: Json, roomId: string): Json[] {
  return ((section(response, "invite", roomId)?.["invite_state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

for (const engine of engines) {
  describe(`invites from another server reach the invitee's /sync [${engine}]`, () => {
    const clients = twoClients(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: Client;
    let bob: Client;
    before(() => ({ a, b, alice, bob } = clients));

    async function privateRoom(name: string, roomVersion?: string): Promise<string> {
      const created = await alice.call("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", name, ...(roomVersion === undefined ? {} : { room_version: roomVersion }) });
      return created["room_id"] as string;
    }

    const invite = (roomId: string, userId: string) => alice.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });

    it("shows the invite with its stripped state, lets bob join through it, and the room works both ways", async () => {
      const roomId = await privateRoom("Plans");
      // The long-poll is waiting when the invite comes.
      const polled = bob.syncUntil("the invite in bob's incremental sync", (r) => section(r, "invite", roomId) !== undefined);
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      const incremental = await polled;

      for (const response of [incremental, await bob.call("GET", "/_matrix/client/v3/sync")]) {
        const state = inviteStateOf(response, roomId);
        const own = findStripped(state, "m.room.member", bob.userId);
        assert.equal((own?.["content"] as Json | undefined)?.["membership"], "invite");
        assert.equal(own?.["sender"], alice.userId);
        assert.deepEqual(findStripped(state, "m.room.name")?.["content"], { name: "Plans" });
        assert.deepEqual(findStripped(state, "m.room.join_rules")?.["content"], { join_rule: "invite" });
        assert.ok(findStripped(state, "m.room.create") !== undefined);
        // Stripped: sender, type, state_key and content only.
        for (const event of state) assert.deepEqual(Object.keys(event).sort(), ["content", "sender", "state_key", "type"]);
        assert.equal(section(response, "join", roomId), undefined);
      }
      assert.deepEqual((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"], []);

      await bob.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      assert.deepEqual((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"], [roomId]);
      assert.equal(await a.membership(roomId, bob.userId), "join");
      const joined = await bob.syncUntil("the room in bob's rooms.join", (r) => section(r, "join", roomId) !== undefined);
      assert.equal(section(joined, "invite", roomId), undefined);
      const initial = await bob.call("GET", "/_matrix/client/v3/sync");
      assert.equal(section(initial, "invite", roomId), undefined);
      // The room's state as the join found it: the state section and the timeline together hold it.
      const room = section(initial, "join", roomId);
      const seen = [...(((room?.["state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? []), ...timelineOf(room)];
      assert.deepEqual(seen.find((e) => e["type"] === "m.room.name")?.["content"], { name: "Plans" });
      assert.ok(seen.some((e) => e["type"] === "m.room.create"));
      const own = seen.filter((e) => e["type"] === "m.room.member" && e["state_key"] === bob.userId).at(-1);
      assert.equal((own?.["content"] as Json | undefined)?.["membership"], "join");

      await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/a1`, { msgtype: "m.text", body: "hello bob" });
      await bob.syncUntil("alice's message on B", (r) => timelineOf(section(r, "join", roomId)).some((e) => (e["content"] as Json)["body"] === "hello bob"));
      await bob.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/b1`, { msgtype: "m.text", body: "hello alice" });
      await alice.syncUntil("bob's message on A", (r) => timelineOf(section(r, "join", roomId)).some((e) => (e["content"] as Json)["body"] === "hello alice"));
    });

    it("shows a rejected invite in rooms.leave, and the inviting server has the leave", async () => {
      const roomId = await privateRoom("Declined");
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      await bob.syncUntil("the second invite", (r) => section(r, "invite", roomId) !== undefined);

      await leaveShown(bob, roomId, "invite");
      assert.equal(await a.membership(roomId, bob.userId), "leave");
      await alice.syncUntil("bob's leave on A", (r) =>
        timelineOf(section(r, "join", roomId)).some((e) => e["state_key"] === bob.userId && (e["content"] as Json)["membership"] === "leave"),
      );
      assert.ok(!((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"] as string[]).includes(roomId));
    });

    it("shows an invite the room retracts (a kick of the invitee) in rooms.leave", async () => {
      const roomId = await privateRoom("Withdrawn");
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      await bob.syncUntil("the third invite", (r) => section(r, "invite", roomId) !== undefined);
      await alice.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId, reason: "sorry" });
      const left = await bob.syncUntil("the retraction in bob's rooms.leave", (r) => section(r, "leave", roomId) !== undefined);
      const kick = memberEventIn(left, "leave", roomId, bob.userId);
      assert.deepEqual(kick?.["content"], { membership: "leave", reason: "sorry" });
      assert.equal(kick?.["sender"], alice.userId);
      assert.equal(section(await bob.call("GET", "/_matrix/client/v3/sync"), "invite", roomId), undefined);
      assert.equal((await b.services.federationRooms.invites.pending(roomId, bob.userId)), undefined);
    });

    it("does the same in a room of version 10 (a room ID naming its server, invite_room_state of stripped events)", async () => {
      const roomId = await privateRoom("Older", "10");
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      const invited = await bob.syncUntil("the v10 invite", (r) => section(r, "invite", roomId) !== undefined);
      const state = inviteStateOf(invited, roomId);
      assert.deepEqual(findStripped(state, "m.room.name")?.["content"], { name: "Older" });
      assert.equal((findStripped(state, "m.room.member", bob.userId)?.["content"] as Json | undefined)?.["membership"], "invite");
      await bob.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, {});
      assert.ok(((await bob.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"] as string[]).includes(roomId));
      await bob.syncUntil("the v10 room joined", (r) => section(r, "join", roomId) !== undefined);
    });

    it("keeps a pending invite across a restart of B", async () => {
      const roomId = await privateRoom("Later");
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      await bob.syncUntil("the invite before the restart", (r) => section(r, "invite", roomId) !== undefined);
      await b.stop();
      await b.start();
      const initial = await bob.call("GET", "/_matrix/client/v3/sync");
      assert.deepEqual(findStripped(inviteStateOf(initial, roomId), "m.room.name")?.["content"], { name: "Later" });
      await bob.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
      await bob.syncUntil("the rejection after the restart", (r) => section(r, "leave", roomId) !== undefined);
      assert.equal(await a.membership(roomId, bob.userId), "leave");
    });

    it("refuses an invite of a user B does not have", async () => {
      const roomId = await privateRoom("Nobody");
      const answer = await invite(roomId, b.user("nobody"));
      // invites-v2.yaml: the invitee's server may refuse; the spec names M_NOT_FOUND (404) or M_FORBIDDEN (403).
      assert.ok(
        (answer.status === 404 && answer.json["errcode"] === "M_NOT_FOUND") || (answer.status === 403 && answer.json["errcode"] === "M_FORBIDDEN"),
        JSON.stringify(answer),
      );
      assert.equal(await a.membership(roomId, b.user("nobody")), undefined);
    });

    it("answers M_FORBIDDEN from B to A's inviter for a room B's admin blocked", async () => {
      const roomId = await privateRoom("Blocked by B");
      await b.services.rooms.blocks.set(roomId, true, b.user("admin"));
      const refused = await invite(roomId, bob.userId);
      assert.equal(refused.status, 403, JSON.stringify(refused.json));
      assert.equal(refused.json["errcode"], "M_FORBIDDEN");
      assert.equal(await a.membership(roomId, bob.userId), undefined);
      await b.services.rooms.blocks.set(roomId, false, b.user("admin"));
      assert.equal((await invite(roomId, bob.userId)).status, 200);
    });

    it("answers M_INVITE_BLOCKED from B to A's inviter while bob blocks invites (modules/invite_permission.md)", async () => {
      const config = `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.invite_permission_config`;
      await bob.call("PUT", config, { default_action: "block" });
      const roomId = await privateRoom("Blocked");
      const refused = await invite(roomId, bob.userId);
      assert.equal(refused.status, 403, JSON.stringify(refused.json));
      assert.equal(refused.json["errcode"], "M_INVITE_BLOCKED");
      assert.equal(await a.membership(roomId, bob.userId), undefined);
      // /createRoom learns it only from B, once the room is made: the other invitees are still
      // invited, and the request answers B's refusal.
      const other = await b.register("blocked-room-guest");
      const before = (await alice.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"] as string[];
      const created = await alice.request("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", invite: [bob.userId, other] });
      assert.equal(created.status, 403, JSON.stringify(created.json));
      assert.equal(created.json["errcode"], "M_INVITE_BLOCKED");
      const made = ((await alice.call("GET", "/_matrix/client/v3/joined_rooms"))["joined_rooms"] as string[]).filter((r) => !before.includes(r));
      assert.equal(made.length, 1);
      assert.equal(await a.membership(made[0] as string, other), "invite");
      assert.equal(await a.membership(made[0] as string, bob.userId), undefined);
      // "the same event without the default_action property" lifts the block.
      await bob.call("PUT", config, {});
      assert.equal((await invite(roomId, bob.userId)).status, 200);
      await bob.syncUntil("the invite once the block is lifted", (r) => section(r, "invite", roomId) !== undefined);
    });
  });
}
