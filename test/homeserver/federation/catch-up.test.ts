import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// A destination that was down is caught up: its queue survives, the newest event of each room is
// sent when it is back, and it fetches what lies between with /get_missing_events.

for (const engine of engines) {
  describe(`catching up a server that was down [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    before(() => ({ a, b } = servers));

    it("delivers 100 messages sent while the other server was stopped, once it is back", async () => {
      const alice = a.user("alice");
      const bob = await b.register("bob");
      const roomId = await a.createRoom(alice, { preset: "public" });
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
      await a.send(roomId, alice, "before");
      await waitFor("the first message on B", async () => (await b.timeline(roomId)).some((e) => e.content["body"] === "before"));

      await b.stop();
      const sent: string[] = [];
      for (let i = 0; i < 100; i++) {
        sent.push(`while away ${i}`);
        await a.send(roomId, alice, `while away ${i}`);
      }
      await a.services.federationRooms.settled();
      assert.ok(a.services.federationRooms.sender.failures(b.serverName) > 0);

      await b.start();
      // B speaks first: A hears from it and tries again at once rather than after its backoff.
      await b.send(roomId, bob, "back");
      await waitFor("B's message on A", async () => (await a.timeline(roomId)).some((e) => e.content["body"] === "back"));
      await waitFor("A's messages on B", async () => {
        const bodies = (await b.timeline(roomId)).map((e) => e.content["body"]);
        return sent.every((s) => bodies.includes(s));
      });
      const bodies = (await b.timeline(roomId)).filter((e) => e.type === "m.room.message").map((e) => String(e.content["body"]));
      assert.deepEqual(bodies.filter((s) => s.startsWith("while away")), sent);
      await waitFor("A's queue to B to drain", async () => {
        await a.services.federationRooms.settled();
        return a.services.federationRooms.sender.failures(b.serverName) === 0;
      });
      assert.deepEqual(await a.currentState(roomId), await b.currentState(roomId));
    });
  });
}
