import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../../../src/core/json.ts";
import { completeEvent, EventTemplates } from "../../../src/homeserver/federation/event-template.ts";
import { parsePdu } from "../../../src/homeserver/federation/remote-events.ts";
import { RoomReader } from "../../../src/homeserver/federation/room-reader.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// Both servers change the same state at once: each builds its event on the room as it has it
// (neither has seen the other's), so the room forks, and both resolve it to the same state.

interface Draft {
  readonly type: string;
  readonly stateKey: string;
  readonly sender: string;
  readonly content: JsonObject;
}

/** Builds and stores an event of `server` on its current state, sending it to `other` only afterwards. */
async function buildOn(server: FederatedServer, roomId: string, draft: Draft): Promise<{ eventId: string; commit: (other: FederatedServer) => Promise<void> }> {
  const rs = server.services.roomserver;
  const built = await new EventTemplates(new RoomReader(rs), server.serverName).build({ roomId, ...draft });
  assert.ok(built.auth.allowed, `the ${draft.type} event is allowed on ${server.serverName}`);
  const pdu = completeEvent(built.template, built.version, server.serverName, server.services.serverKeys.signingKey, Date.now());
  const parsed = parsePdu(pdu, built.version);
  if (!("event" in parsed)) throw new Error(parsed.error);
  const eventId = parsed.event.eventId;
  return {
    eventId,
    commit: async (other) => {
      const result = await rs.input({ kind: "new", pdu, origin: server.serverName });
      assert.equal(result.outcome, "accepted");
      server.services.federationRooms.sender.queuePdu(roomId, eventId, [other.serverName]);
    },
  };
}

for (const engine of engines) {
  describe(`concurrent state changes across servers [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let roomId: string;
    let alice: string;
    let bob: string;

    before(async () => {
      ({ a, b } = servers);
      alice = a.user("alice");
      bob = await b.register("bob");
      roomId = await a.createRoom(alice, { preset: "public" });
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
      // Bob may change the room's state too.
      await a.state(roomId, alice, "m.room.power_levels", "", { users: { [alice]: 100, [bob]: 100 }, users_default: 0, events_default: 0, state_default: 50 });
      await waitFor("bob's power on B", async () => ((await b.stateContent(roomId, "m.room.power_levels", ""))?.["users"] as JsonObject | undefined)?.[bob] === 100);
    });

    async function race(onA: Draft, onB: Draft): Promise<void> {
      const fromA = await buildOn(a, roomId, onA);
      const fromB = await buildOn(b, roomId, onB);
      await Promise.all([fromA.commit(b), fromB.commit(a)]);
      for (const server of [a, b]) {
        await waitFor(`both events on ${server.serverName}`, async () => {
          const [x, y] = await Promise.all([fromA.eventId, fromB.eventId].map((id) => server.services.roomserver.getEvent(id)));
          return x !== undefined && y !== undefined;
        });
      }
      // The fork: each side's event was built without the other's.
      const eventA = await a.services.roomserver.getEvent(fromA.eventId);
      assert.ok(!eventA?.event.prevEventIds.includes(fromB.eventId));
      // The forward extremities may differ (an event that arrives after a ban of its sender is soft
      // failed, so it is no extremity there), the state does not.
      assert.deepEqual(await a.currentState(roomId), await b.currentState(roomId));
    }

    it("resolves two topics set at once to the same one", async () => {
      await race(
        { type: "m.room.topic", stateKey: "", sender: alice, content: { topic: "from A" } },
        { type: "m.room.topic", stateKey: "", sender: bob, content: { topic: "from B" } },
      );
      const topic = (await a.stateContent(roomId, "m.room.topic", ""))?.["topic"];
      assert.ok(topic === "from A" || topic === "from B");
      assert.equal((await b.stateContent(roomId, "m.room.topic", ""))?.["topic"], topic);
    });

    it("resolves two power level changes at once to the same one", async () => {
      const levels = (extra: string): JsonObject => ({ users: { [alice]: 100, [bob]: 100, [extra]: 50 }, users_default: 0, events_default: 0, state_default: 50 });
      await race(
        { type: "m.room.power_levels", stateKey: "", sender: alice, content: levels(`@x:${a.serverName}`) },
        { type: "m.room.power_levels", stateKey: "", sender: bob, content: levels(`@y:${b.serverName}`) },
      );
      assert.deepEqual(await a.stateContent(roomId, "m.room.power_levels", ""), await b.stateContent(roomId, "m.room.power_levels", ""));
    });

    it("resolves a ban racing a join the same way on both servers", async () => {
      const carol = await b.register("carol");
      await race(
        { type: "m.room.member", stateKey: carol, sender: alice, content: { membership: "ban", reason: "spam" } },
        { type: "m.room.member", stateKey: carol, sender: carol, content: { membership: "join" } },
      );
      const membership = await a.membership(roomId, carol);
      assert.equal(await b.membership(roomId, carol), membership);
      // State resolution v2 orders power events (the ban) first: the join no longer passes after it.
      assert.equal(membership, "ban");
    });
  });
}
