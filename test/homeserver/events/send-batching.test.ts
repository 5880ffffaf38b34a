// Sends that share the room engine's batches: the transaction ID is stored in the event's own
// transaction (client-server-api#transaction-identifiers), concurrent duplicates get one event, and
// concurrent sends to one room still form one chain, served by /messages in order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { call, createRoom, enc, getOk, ids, registerUser, roomPath, setMembership, startRestartable, text, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`sends sharing batches [${engine}]`, () => {
    it("keeps a transaction ID with its event: concurrent duplicates, another body, a restart", async () => {
      const server = await startRestartable(engine);
      try {
        let hs = server.current();
        const alice = await registerUser(hs, "alice");
        const room = await createRoom(hs, alice);
        const path = (txnId: string) => roomPath(room, `/send/m.room.message/${txnId}`);
        // Duplicates of one txnId among other sends, all at once: one event for the txnId.
        const replies = await Promise.all([
          ...[1, 2, 3, 4].map((i) => call(hs, "PUT", path("dup"), { token: alice.accessToken, body: text(`dup body ${i}`) })),
          ...[1, 2, 3, 4].map((i) => call(hs, "PUT", path(`other${i}`), { token: alice.accessToken, body: text(`other ${i}`) })),
        ]);
        for (const r of replies) assert.equal(r.status, 200, JSON.stringify(r.body));
        const dupIds = new Set(replies.slice(0, 4).map((r) => r.body["event_id"]));
        assert.equal(dupIds.size, 1);
        const original = [...dupIds][0] as string;
        assert.equal(new Set(replies.map((r) => r.body["event_id"])).size, 5);

        // The record is written with the event, not after it: the store has it as soon as the
        // room engine acknowledged the event, with nothing else run in between.
        const { roomserver, events } = hs.server.services;
        const key = { userId: alice.userId, deviceId: "DIRECT", scope: JSON.stringify(["send", room, "m.room.message"]), txnId: "direct" };
        const { eventId: direct } = await roomserver.createLocalEvent({ roomId: room, type: "m.room.message", sender: alice.userId, content: text("direct"), transaction: key });
        assert.equal(await events.transactions.store.eventFor(key), direct);

        hs = await server.restart();
        // A retransmission after the restart, with another body: the same event ID (a
        // retransmission is the same txnId on the same path; the body is not compared).
        const again = await call(hs, "PUT", path("dup"), { token: alice.accessToken, body: text("changed body") });
        assert.equal(again.status, 200);
        assert.equal(again.body["event_id"], original);
        const chunk = (await getOk(hs, alice, roomPath(room, "/messages?dir=b&limit=50")))["chunk"] as Array<{ event_id: string; content: { body?: string }; unsigned?: { transaction_id?: string } }>;
        const dups = chunk.filter((e) => e.content.body?.startsWith("dup body") === true || e.content.body === "changed body");
        assert.deepEqual(ids(dups), [original]);
        assert.equal(dups[0]?.unsigned?.transaction_id, "dup");
      } finally {
        await server.stop();
      }
    });

    it("chains concurrent sends of several clients into one line of events, served by /messages in order", async () => {
      const server = await startRestartable(engine);
      try {
        const hs = server.current();
        const users: TestUser[] = [];
        for (const name of ["ann", "ben", "cat", "dan"]) users.push(await registerUser(hs, name));
        const owner = users[0] as TestUser;
        const room = await createRoom(hs, owner);
        for (const user of users.slice(1)) await setMembership(hs, room, user, "join");
        const perUser = 15;
        const sent = await Promise.all(
          users.flatMap((user, u) =>
            Array.from({ length: perUser }, async (_, i) => {
              const reply = await call(hs, "PUT", roomPath(room, `/send/m.room.message/c${u}-${i}`), { token: user.accessToken, body: text(`c${u}-${i}`) });
              assert.equal(reply.status, 200, JSON.stringify(reply.body));
              return reply.body["event_id"] as string;
            }),
          ),
        );
        assert.equal(new Set(sent).size, users.length * perUser);

        // /messages from the start, forwards: every message, in the order of the stream.
        const served: Array<{ event_id: string; type: string }> = [];
        let from: string | undefined;
        for (;;) {
          const page = await getOk(hs, owner, roomPath(room, `/messages?dir=f&limit=20${from === undefined ? "" : `&from=${enc(from)}`}`));
          served.push(...(page["chunk"] as Array<{ event_id: string; type: string }>));
          if (typeof page["end"] !== "string") break;
          from = page["end"];
        }
        const messages = served.filter((e) => e.type === "m.room.message").map((e) => e.event_id);
        assert.deepEqual(new Set(messages), new Set(sent));
        assert.equal(messages.length, sent.length);

        // Each event cites the one before it in the timeline, and only it; depth goes up by one.
        const { roomserver } = hs.server.services;
        const timeline = served.map((e) => e.event_id);
        for (let i = 1; i < timeline.length; i++) {
          const event = (await roomserver.getEvent(timeline[i] as string))?.event;
          const previous = (await roomserver.getEvent(timeline[i - 1] as string))?.event;
          assert.ok(event !== undefined && previous !== undefined);
          assert.deepEqual(event.prevEventIds, [previous.eventId], `event ${i} of the timeline`);
          assert.equal(event.depth, previous.depth + 1);
        }
        assert.deepEqual(await roomserver.forwardExtremities(room), [timeline.at(-1)]);
      } finally {
        await server.stop();
      }
    });
  });
}
