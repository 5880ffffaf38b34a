import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Requester } from "../../../src/http/endpoint.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// The client's /timestamp_to_event on a server that lacks the room's history
// (room_event_by_timestamp.yaml): B joined A's room late, so what was said before is not on B;
// B asks A (GET /_matrix/federation/v1/timestamp_to_event), fetches the closer event A names,
// checks and places it, and answers with it.

const requester = (userId: string): Requester => ({ userId, deviceId: undefined, isGuest: false, accessTokenId: undefined });
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 15));

for (const engine of engines) {
  describe(`timestamp_to_event across servers [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    before(() => ({ a, b } = servers));

    it("asks the room's other servers for an event closer than ours, and fetches and places it", async () => {
      const alice = a.user("alice");
      const roomId = await a.createRoom(alice, { preset: "public" });
      await tick();
      const t0 = Date.now();
      await tick();
      const early = await a.send(roomId, alice, "early");
      await tick();
      const t1 = Date.now();
      await tick();
      const middle = await a.send(roomId, alice, "middle");
      await tick();
      const t2 = Date.now();
      await tick();
      const bob = await b.register("bob");
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
      await waitFor("A to see bob's join", async () => (await a.membership(roomId, bob)) === "join");
      assert.equal(await b.services.roomserver.getEvent(early), undefined);

      // Forwards from t0: B's own closest is its join, A has "early", much closer.
      const messages = b.services.events.messages;
      const forwards = await messages.timestampToEvent(requester(bob), roomId, t0, "f");
      assert.equal(forwards["event_id"], early);
      const stored = await b.services.roomserver.getEvent(early);
      assert.ok(stored !== undefined);
      assert.equal(stored.outlier, false);
      assert.equal(forwards["origin_server_ts"], stored.event.originServerTs);
      // It is in the timeline: /context finds it.
      const context = await messages.context(requester(bob), roomId, early, { limit: 1, filter: undefined });
      assert.equal((context["event"] as Record<string, unknown>)["event_id"], early);

      // Backwards from t1: B has nothing before it at all; A has "early".
      const backwards = await messages.timestampToEvent(requester(bob), roomId, t1, "b");
      assert.equal(backwards["event_id"], early);

      // Backwards from after "middle": ours is "early" now, A's "middle" is closer, fetched too.
      const fromMiddle = await messages.timestampToEvent(requester(bob), roomId, t2, "b");
      assert.equal(fromMiddle["event_id"], middle);
      assert.equal((await b.services.roomserver.getEvent(middle))?.outlier, false);

      // What is said after the join is B's own: forwards from just before it, B answers itself.
      const late = await a.send(roomId, alice, "late");
      await waitFor("B to receive the late message", async () => (await b.services.roomserver.getEvent(late)) !== undefined);
      const lateTs = (await b.services.roomserver.getEvent(late))?.event.originServerTs as number;
      assert.equal((await messages.timestampToEvent(requester(bob), roomId, lateTs, "f"))["event_id"], late);
    });

    it("answers M_NOT_FOUND when no server has an event in that direction", async () => {
      const alice = a.user("alice2");
      const roomId = await a.createRoom(alice, { preset: "public" });
      const bob = await b.register("bob2");
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
      await assert.rejects(b.services.events.messages.timestampToEvent(requester(bob), roomId, Date.now() + 3_600_000, "f"), { errcode: "M_NOT_FOUND" });
      await assert.rejects(b.services.events.messages.timestampToEvent(requester(bob), roomId, 1, "b"), { errcode: "M_NOT_FOUND" });
    });
  });
}
