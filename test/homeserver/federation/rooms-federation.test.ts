import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// Two Weft homeservers sharing rooms over TLS on loopback: joins (by alias, after an invite, again
// after leaving), messages both ways, and history from before the join.

for (const engine of engines) {
  describe(`rooms over federation [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    before(() => ({ a, b } = servers));

    const bodies = async (server: FederatedServer, roomId: string): Promise<string[]> =>
      (await server.timeline(roomId)).filter((e) => e.type === "m.room.message").map((e) => String(e.content["body"]));

    it("joins a room by alias across servers, and messages go both ways in order", async () => {
      const alice = a.user("alice");
      const bob = await b.register("bob");
      const alias = `#lobby:${a.serverName}`;
      const roomId = await a.createRoom(alice, { preset: "public", alias });
      const joined = await b.services.federationRooms.remote.join(bob, alias, [], { displayname: "Bob" });
      assert.equal(joined.roomId, roomId);
      assert.equal(await b.membership(roomId, bob), "join");
      // The resident hears of the join through send_join itself.
      assert.equal(await a.membership(roomId, bob), "join");
      assert.deepEqual(await b.services.federationRooms.serversInRoom(roomId).then((s) => s.sort()), [a.serverName, b.serverName].sort());

      for (let i = 0; i < 10; i++) {
        await a.send(roomId, alice, `a${i}`);
        await b.send(roomId, bob, `b${i}`);
      }
      const expectAll = async (server: FederatedServer): Promise<boolean> => (await bodies(server, roomId)).length === 20;
      await waitFor("all messages on A", () => expectAll(a));
      await waitFor("all messages on B", () => expectAll(b));
      for (const server of [a, b]) {
        const seen = await bodies(server, roomId);
        // Each server's messages arrive in the order they were sent.
        assert.deepEqual(seen.filter((s) => s.startsWith("a")), Array.from({ length: 10 }, (_, i) => `a${i}`));
        assert.deepEqual(seen.filter((s) => s.startsWith("b")), Array.from({ length: 10 }, (_, i) => `b${i}`));
      }
      assert.deepEqual(await a.currentState(roomId), await b.currentState(roomId));
    });

    it("invites a remote user into a private room, who joins through the inviting server", async () => {
      const alice = a.user("alice");
      const carol = await b.register("carol");
      const roomId = await a.createRoom(alice, { preset: "private" });
      // Not invited: the private room turns the join away.
      await assert.rejects(b.services.federationRooms.remote.join(carol, roomId, [a.serverName], {}), { errcode: "M_FORBIDDEN" });
      const heard: string[] = [];
      const stop = b.services.federationRooms.invites.onInvite((invite) => heard.push(invite.roomId));
      await a.services.federationRooms.remoteRooms.inviter?.invite({ roomId, sender: alice, invitee: carol, content: {} });
      stop();
      assert.deepEqual(heard, [roomId]);
      assert.equal(await a.membership(roomId, carol), "invite");
      const pending = await b.services.federationRooms.invites.pendingFor(carol);
      assert.deepEqual(pending.map((i) => [i.roomId, i.origin]), [[roomId, a.serverName]]);
      assert.ok(pending[0]?.inviteRoomState.some((e) => e["type"] === "m.room.create"));
      // The invite names the way in: no via servers needed.
      await b.services.federationRooms.remote.join(carol, roomId, [], {});
      assert.equal(await b.membership(roomId, carol), "join");
      assert.equal(await a.membership(roomId, carol), "join");
      assert.deepEqual(await b.services.federationRooms.invites.pendingFor(carol), []);
      await b.send(roomId, carol, "hello from carol");
      await waitFor("carol's message on A", async () => (await bodies(a, roomId)).includes("hello from carol"));
    });

    it("rejects a remote invite through make_leave / send_leave", async () => {
      const alice = a.user("alice");
      const dave = await b.register("dave");
      const roomId = await a.createRoom(alice, { preset: "private" });
      await a.services.federationRooms.remoteRooms.inviter?.invite({ roomId, sender: alice, invitee: dave, content: {} });
      await b.services.federationRooms.remoteRooms.leaver?.leave(dave, roomId, [], {});
      assert.equal(await a.membership(roomId, dave), "leave");
      assert.deepEqual(await b.services.federationRooms.invites.pendingFor(dave), []);
    });

    it("forgets an invite the room retracts", async () => {
      const alice = a.user("alice");
      const ivy = await b.register("ivy");
      const roomId = await a.createRoom(alice, { preset: "private" });
      await a.services.federationRooms.remoteRooms.inviter?.invite({ roomId, sender: alice, invitee: ivy, content: {} });
      assert.equal((await b.services.federationRooms.invites.pendingFor(ivy)).length, 1);
      const gone: string[] = [];
      const stop = b.services.federationRooms.invites.onInviteGone((room, user) => gone.push(`${room} ${user}`));
      await a.state(roomId, alice, "m.room.member", ivy, { membership: "leave" });
      await waitFor("the retraction on B", async () => (await b.services.federationRooms.invites.pendingFor(ivy)).length === 0);
      stop();
      assert.deepEqual(gone, [`${roomId} ${ivy}`]);
    });

    it("leaves and joins again", async () => {
      const alice = a.user("alice");
      const erin = await b.register("erin");
      const roomId = await a.createRoom(alice, { preset: "public" });
      await b.services.federationRooms.remote.join(erin, roomId, [a.serverName], {});
      await b.state(roomId, erin, "m.room.member", erin, { membership: "leave" });
      await waitFor("erin's leave on A", async () => (await a.membership(roomId, erin)) === "leave");
      await a.services.federationRooms.settled();
      assert.deepEqual(await a.services.federationRooms.serversInRoom(roomId), [a.serverName]);
      await a.send(roomId, alice, "while erin is away");
      // B is not in the room any more: the join goes through A again.
      await b.services.federationRooms.remote.join(erin, roomId, [a.serverName], {});
      assert.equal(await b.membership(roomId, erin), "join");
      await waitFor("erin's join on A", async () => (await a.membership(roomId, erin)) === "join");
      await a.send(roomId, alice, "welcome back");
      await waitFor("the next message on B", async () => (await bodies(b, roomId)).includes("welcome back"));
      assert.deepEqual(await a.currentState(roomId), await b.currentState(roomId));
    });

    it("carries a profile change to the other server's copy of every shared room", async () => {
      const alice = a.user("alice");
      const dora = await b.register("dora");
      const alias = `#profiles:${a.serverName}`;
      const roomId = await a.createRoom(alice, { preset: "public", alias });
      await b.services.federationRooms.remote.join(dora, alias, [], { displayname: "Dora" });
      await waitFor("dora joined on A", async () => (await a.membership(roomId, dora)) === "join");
      // The profile goes to the rooms B's membership index holds for her.
      await waitFor("dora's room in B's index", async () => (await b.services.rooms.membershipIndex.roomsForUser(dora, ["join"])).some((r) => r.roomId === roomId));
      // client-server-api#profiles: a new display name is sent as a member event to each joined room.
      const requester = { userId: dora, deviceId: undefined, isGuest: false, accessTokenId: undefined };
      await b.services.accounts.profiles.setField(requester, dora, "displayname", { displayname: "Dora the Explorer" });
      await waitFor("the new name on A", async () => (await a.stateContent(roomId, "m.room.member", dora))?.["displayname"] === "Dora the Explorer");
      assert.equal((await a.stateContent(roomId, "m.room.member", dora))?.["membership"], "join");
      assert.deepEqual(await a.currentState(roomId), await b.currentState(roomId));
    });

    it("backfills history from before the join", async () => {
      const alice = a.user("alice");
      const frank = await b.register("frank");
      const roomId = await a.createRoom(alice, { preset: "public" });
      for (let i = 0; i < 30; i++) await a.send(roomId, alice, `old ${i}`);
      await b.services.federationRooms.remote.join(frank, roomId, [a.serverName], {});
      assert.deepEqual(await b.storedMessages(roomId), []);
      const backfiller = b.services.federationRooms.backfiller;
      const from = await backfiller.backwardExtremities(roomId);
      assert.equal(from.length, 1);
      const first = await backfiller.backfill(roomId, from, 20);
      assert.equal(first.events.length, 20);
      assert.deepEqual(await b.storedMessages(roomId), Array.from({ length: 20 }, (_, i) => `old ${i + 10}`));
      const second = await backfiller.backfill(roomId, first.backwardExtremities, 100);
      assert.deepEqual(await b.storedMessages(roomId), Array.from({ length: 30 }, (_, i) => `old ${i}`));
      // Back to the room's creation: nothing is missing any more.
      assert.deepEqual(second.backwardExtremities, []);
    });
  });
}
