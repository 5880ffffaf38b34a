// Events received over federation are searched like local ones: two Weft homeservers over TLS on
// loopback, alice on A and bob on B in rooms of A; bob finds on B what alice sent on A (and after
// alice redacts it, no longer), and the history B fetched from A by backfill.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { twoClients, type Client, type Json } from "../federation/client-api.ts";
import { waitFor, type FederatedServer } from "../federation/federated-server.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`POST /search of events received over federation [${engine}]`, () => {
    const clients = twoClients(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: Client;
    let bob: Client;
    let roomId: string;

    before(async () => {
      ({ a, b, alice, bob } = clients);
      roomId = await a.createRoom(alice.userId, { preset: "public" });
      await b.services.federationRooms.remote.join(bob.userId, roomId, [a.serverName], {});
      assert.equal(await a.membership(roomId, bob.userId), "join");
    });

    const found = async (client: Client, term: string): Promise<string[]> => {
      const answer = await client.call("POST", "/_matrix/client/v3/search", { search_categories: { room_events: { search_term: term, order_by: "recent" } } });
      const results = ((answer["search_categories"] as Json)["room_events"] as Json)["results"] as Json[];
      return results.map((r) => (r["result"] as Json)["event_id"] as string);
    };

    it("finds on B what alice sent on A, and forgets it once redacted", async () => {
      const sent = await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/f1`, { msgtype: "m.text", body: "interplanetary greetings" });
      const eventId = sent["event_id"] as string;
      await waitFor("alice's message on B", async () => (await b.services.roomserver.getEvent(eventId)) !== undefined);
      assert.deepEqual(await found(bob, "interplanetary"), [eventId]);
      await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/f2`, {});
      await waitFor("the redaction on B", async () => (await b.services.roomserver.getEvent(eventId))?.redactedBy !== undefined);
      assert.deepEqual(await found(bob, "interplanetary"), []);
    });

    it("finds the history B fetched from A (backfill) once it is there", async () => {
      const older = await a.createRoom(alice.userId, { preset: "public" });
      const ancient = await a.send(older, alice.userId, "ancient scroll");
      for (let i = 0; i < 5; i++) await a.send(older, alice.userId, `filler ${i}`);
      await b.services.federationRooms.remote.join(bob.userId, older, [a.serverName], {});
      assert.deepEqual(await found(bob, "ancient"), [], "not on B before it is fetched");
      // Paging back through the room on B fetches its history from A.
      await bob.call("GET", `/_matrix/client/v3/rooms/${enc(older)}/messages?dir=b&limit=50`);
      assert.deepEqual(await found(bob, "ancient"), [ancient]);
    });
  });
}
