/**
 * Typing, read receipts and presence between two Weft homeservers over TLS on loopback: a user on
 * A and one on B, in the same room, see each other's through /sync (the client API of their own
 * server), the way a client would.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Agent } from "undici";
import { engines } from "../../storage/engines.ts";
import { clientOf, twoClients, type Client, type Json } from "./client-api.ts";
import { waitFor, type FederatedServer } from "./federated-server.ts";

const enc = encodeURIComponent;

function ephemeralOf(response: Json, roomId: string): Json[] {
  const room = ((response["rooms"] as Json | undefined)?.["join"] as Json | undefined)?.[roomId] as Json | undefined;
  return ((room?.["ephemeral"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

function presenceOf(response: Json): Json[] {
  return ((response["presence"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

for (const engine of engines) {
  describe(`typing, receipts and presence over federation [${engine}]`, () => {
    const clients = twoClients(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let agent: Agent;
    let alice: Client;
    let bob: Client;
    let roomId: string;

    before(async () => {
      ({ a, b, agent, alice, bob } = clients);
      roomId = await a.createRoom(alice.userId, { preset: "public" });
      await b.services.federationRooms.remote.join(bob.userId, roomId, [a.serverName], {});
      assert.equal(await a.membership(roomId, bob.userId), "join");
    });

    const typingIn = (response: Json): string[] | undefined => {
      const event = ephemeralOf(response, roomId).find((e) => e["type"] === "m.typing");
      return event === undefined ? undefined : ((event["content"] as Json)["user_ids"] as string[]);
    };

    it("shows each side's typing on the other, and its end", async () => {
      const typingPath = (user: Client): string => `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(user.userId)}`;
      await alice.call("PUT", typingPath(alice), { typing: true, timeout: 30000 });
      await bob.syncUntil("alice typing, on B", (r) => typingIn(r)?.includes(alice.userId) === true);
      await bob.call("PUT", typingPath(bob), { typing: true, timeout: 30000 });
      await alice.syncUntil("bob typing, on A", (r) => typingIn(r)?.includes(bob.userId) === true);
      await alice.call("PUT", typingPath(alice), { typing: false });
      const stopped = await bob.syncUntil("alice stopped, on B", (r) => typingIn(r) !== undefined && !typingIn(r)?.includes(alice.userId));
      assert.deepEqual(typingIn(stopped), [bob.userId]);
      await bob.call("PUT", typingPath(bob), { typing: false });
      await alice.syncUntil("bob stopped, on A", (r) => typingIn(r)?.length === 0);
    });

    it("shows each side's public read receipts on the other, with their thread, never the private ones", async () => {
      const sent = await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { msgtype: "m.text", body: "read me" });
      const eventId = sent["event_id"] as string;
      await waitFor("the message on B", async () => (await b.timeline(roomId)).some((e) => e.eventId === eventId));
      const receiptPath = (type: string): string => `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`;
      await bob.call("POST", receiptPath("m.read.private"), {});
      await bob.call("POST", receiptPath("m.read"), { thread_id: "main" });
      const seen: Json[] = [];
      const receiptsOn = (r: Json): Json | undefined => ephemeralOf(r, roomId).find((e) => e["type"] === "m.receipt")?.["content"] as Json | undefined;
      const onA = await alice.syncUntil("bob's receipt, on A", (r) => {
        seen.push(r);
        return ((receiptsOn(r)?.[eventId] as Json | undefined)?.["m.read"] as Json | undefined)?.[bob.userId] !== undefined;
      });
      const bobs = (((receiptsOn(onA)?.[eventId] as Json)["m.read"] as Json)[bob.userId] as Json);
      assert.equal(bobs["thread_id"], "main");
      assert.equal(typeof bobs["ts"], "number");
      assert.ok(!JSON.stringify(seen).includes("m.read.private"));

      await alice.call("POST", receiptPath("m.read"), {});
      const onB = await bob.syncUntil("alice's receipt, on B", (r) => ((receiptsOn(r)?.[eventId] as Json | undefined)?.["m.read"] as Json | undefined)?.[alice.userId] !== undefined);
      const alices = (((receiptsOn(onB)?.[eventId] as Json)["m.read"] as Json)[alice.userId] as Json);
      assert.equal(alices["thread_id"], undefined);
    });

    it("shows each side's presence and status message on the other", async () => {
      const statusOf = (r: Json, userId: string): Json | undefined =>
        presenceOf(r).find((e) => e["sender"] === userId && (e["content"] as Json)["status_msg"] !== undefined)?.["content"] as Json | undefined;
      await alice.call("PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { presence: "online", status_msg: "Making cupcakes" });
      const onB = await bob.syncUntil("alice's status, on B", (r) => statusOf(r, alice.userId)?.["status_msg"] === "Making cupcakes");
      assert.equal(statusOf(onB, alice.userId)?.["presence"], "online");
      await bob.call("PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { presence: "unavailable", status_msg: "In a meeting" });
      const onA = await alice.syncUntil("bob's status, on A", (r) => statusOf(r, bob.userId)?.["status_msg"] === "In a meeting");
      assert.equal(statusOf(onA, bob.userId)?.["presence"], "unavailable");
      // And GET /presence answers the remote user's presence as received.
      const status = await alice.call("GET", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`);
      assert.equal(status["status_msg"], "In a meeting");
    });

    it("tells a server that comes into a room the presence of the members it finds there", async () => {
      const dave = await clientOf(a, "dave", agent);
      const carol = await clientOf(b, "carol", agent);
      const daveRoom = await a.createRoom(dave.userId, { preset: "public" });
      // Nobody on B shares a room with dave yet: B does not hear of this now.
      await dave.call("PUT", `/_matrix/client/v3/presence/${enc(dave.userId)}/status`, { presence: "online", status_msg: "Baking" });
      await carol.syncUntil("carol's first sync", () => true);
      await b.services.federationRooms.remote.join(carol.userId, daveRoom, [a.serverName], {});
      // Online: sent at the join, not when dave's sync-less presence times out to offline later.
      await carol.syncUntil("dave's status, on B", (r) =>
        presenceOf(r).some((e) => e["sender"] === dave.userId && (e["content"] as Json)["status_msg"] === "Baking" && (e["content"] as Json)["presence"] === "online"),
      );
    });
  });
}
